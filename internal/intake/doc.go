// Package intake reads form submissions exported from ODK Central and
// KoboToolbox and maps each to a khula assessment: the cycle it belongs to,
// the phase, the respondent and the answers, typed by the site's effective
// instrument.
//
// khula publishes its instrument as one ODK form for all respondents
// (package odkform writes it). The form contract is:
//
//   - cycle_ref: text "<site>/<wave>/<child-id>", e.g. "moutse/1/ch-0bf35071b4";
//   - phase: "baseline" or "reassessment";
//   - respondent: one of the instrument's respondents;
//   - one group per respondent, named by the respondent id, holding fields
//     named exactly by item ID; only the chosen respondent's group is filled;
//   - yes/no items: "yes" or "no" (declinable ones also "declined");
//   - choice items: the choice value as text ("0", "2.5", "river_dam");
//     declinable ones also "declined";
//   - number and measurement items: the number;
//   - date items: YYYY-MM-DD;
//   - a declinable number, measurement or date item X has a companion
//     X_declined ("yes"/"no") in the same group (ODK cannot put "declined"
//     into such a question), "yes" meaning the respondent declined (and X
//     is empty);
//   - meta/instanceID: "uuid:…", the submission's identity (idempotency key).
//
// [Parse] reads four export formats, detected from the content unless
// [Options.Format] names one:
//
//   - central-json: the OData feed of ODK Central
//     (GET /v1/projects/{p}/forms/{f}.svc/Submissions): an object whose
//     "value" array holds one object per submission, groups nested;
//   - central-csv: ODK Central's submissions.csv (the CSV inside
//     submissions.csv.zip): group paths joined by "-", ODK metadata columns
//     (SubmissionDate, KEY, ReviewState, …);
//   - kobo-json: KoboToolbox's data API (GET /api/v2/assets/{uid}/data/?format=json):
//     an object whose "results" array holds flat objects keyed by "/" paths;
//   - kobo-csv: KoboToolbox's CSV export with XML values and headers, ";"
//     or "," separated, "/" group paths and Kobo's "_" columns.
//
// Rows are streamed (a JSON decoder reading token by token, a CSV reader
// record by record), so a file of tens of megabytes is never held twice.
//
// Parse converts every answer to the type the instrument's item takes (see
// [Submission.Answers]) and reports, per row, what keeps a submission from
// becoming an assessment: a missing or invalid instanceID, a cycle_ref that
// is malformed or names another site, an unknown phase or respondent,
// answers in another respondent's group, a value that cannot be converted
// for its item's type, and fields the instrument does not know. It does not
// validate ranges, required items or skip logic: the server's
// instrument.Validate does that when each assessment is submitted. Error
// reasons never repeat an answer given (it may be personal data).
//
// [FetchCentral] and [FetchKobo] pull the same documents from a server's API.
package intake
