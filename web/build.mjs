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
const consoleCss = sass.compile(join(web, "src", "console.scss"), {
  style: "compressed",
  loadPaths: [join(web, "..")], // MOJ Frontend forwards GOV.UK Frontend as "node_modules/govuk-frontend/…"
  // MOJ Frontend 11 still calls mixins GOV.UK Frontend 6 deprecates: their warnings are theirs, ours still show
  logger: {
    warn(message, options) {
      if (!String(options.stack ?? "").includes("@ministryofjustice")) console.warn(message);
    },
  },
  importers: [new sass.NodePackageImporter()],
  quietDeps: true,
  silenceDeprecations: ["import"],
});
writeFileSync(join(out, "console.css"), consoleCss.css);
cpSync(join(govuk, "govuk-frontend.min.js"), join(out, "govuk-frontend.min.js"));
cpSync(join(web, "src", "app.mjs"), join(out, "app.mjs"));
cpSync(join(web, "src", "console.mjs"), join(out, "console.mjs"));
// MOJ Frontend's ES module bundle (self-contained: it does not import govuk-frontend)
const moj = join(web, "..", "node_modules", "@ministryofjustice", "frontend", "moj");
cpSync(join(moj, "all.bundle.mjs"), join(out, "moj-frontend.mjs"));
cpSync(join(web, "src", "js-enabled.js"), join(out, "js-enabled.js"));
console.log(
  `==> web/assets/ built (app.css ${(css.css.length / 1024).toFixed(0)} KB, ` +
    `console.css ${(consoleCss.css.length / 1024).toFixed(0)} KB)`,
);
