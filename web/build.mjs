// Builds web/assets/ from web/src/ and the pinned govuk-frontend package: no CDN, nothing fetched at run time.
import { cpSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as sass from "sass";

const web = dirname(fileURLToPath(import.meta.url));
const govuk = join(web, "..", "node_modules", "govuk-frontend", "dist", "govuk");
const out = join(web, "assets");

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const css = sass.compile(join(web, "src", "app.scss"), {
  style: "compressed",
  importers: [new sass.NodePackageImporter()],
  quietDeps: true,
  silenceDeprecations: ["import"],
});
writeFileSync(join(out, "app.css"), css.css);
cpSync(join(govuk, "govuk-frontend.min.js"), join(out, "govuk-frontend.min.js"));
cpSync(join(web, "src", "app.mjs"), join(out, "app.mjs"));
cpSync(join(web, "src", "js-enabled.js"), join(out, "js-enabled.js"));
console.log(`==> web/assets/ built (app.css ${(css.css.length / 1024).toFixed(0)} KB)`);
