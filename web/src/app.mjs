// Progressive enhancement only: the form works the same without JavaScript.
import { initAll } from "./govuk-frontend.min.js";

initAll();
