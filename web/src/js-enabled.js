// Runs first in <body>, before anything is drawn: the class GOV.UK Frontend's styles look for when scripts run.
// A file, not an inline script, so that the Content-Security-Policy can forbid inline scripts altogether.
document.body.className += " js-enabled" + ("noModule" in HTMLScriptElement.prototype ? " govuk-frontend-supported" : "");
