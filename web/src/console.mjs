// The staff console's progressive enhancement: GOV.UK Frontend's components, and MOJ Frontend's (the work list's
// tables sort by any column). Every page works the same without JavaScript.
import { initAll } from "./govuk-frontend.min.js";
import { initAll as initMojFrontend } from "./moj-frontend.mjs";

initAll();
initMojFrontend();
