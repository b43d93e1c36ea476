// Package research writes the de-identified research dataset of a site's
// longitudinal study: a CSV file in long format, one row per child per time
// point (wave number and phase, baseline or reassessment), and a codebook
// describing every column.
//
// # What is written, and what never is
//
// Children are keyed by a [Pseudonym]: an HMAC-SHA256 of the child's ID
// under a site's research key ([NewKey]), the same in every wave and
// different in every site. The child's ID, names, date of birth, phone
// numbers, free-text notes and who submitted a form are never written, and
// [Row] does not carry most of them: ChildID is used only to compute the
// pseudonym. Age is written as completed months at the assessment
// ([AgeMonths]) and dates as months (YYYY-MM). Red flags are counted, never
// named; plan actions and referrals are written as counts and as lists of
// codes (domain, service type, status), never their notes. Answers are
// checked against the instrument the row was scored with: a choice answer
// must be one of the item's choices, so text that is not an answer code
// cannot reach the file.
//
// # Columns
//
// [NewSchema] derives the columns from the instrument versions a site used
// (their union, since a site may change instrument between waves): fixed
// columns, then one column per item ("item_<id>"), per scale score, band and
// proration flag ("scale_sdq_total", "scale_sdq_total_band",
// "scale_sdq_total_prorated"), the growth z-scores and their flags, one
// risk level per domain ("level_<domain>"), and the red flag, plan and
// referral summaries. [Schema.Codebook] has exactly one [Variable] per
// column, in the same order.
//
// # Cells
//
// Booleans are 1 or 0; numbers are written without trailing zeros, z-scores
// rounded to two decimals; an unanswered item or an uncomputed score is
// empty; a declined item is "declined". Text cells that a spreadsheet would
// read as a formula (starting with =, +, -, @, a tab or a carriage return)
// get a leading apostrophe; numbers never do, so a z-score of -2.31 stays a
// number for statistics software.
//
// [Writer] streams: it holds one row at a time, so a million rows need no
// more memory than one.
package research
