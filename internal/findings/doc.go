// Package findings computes and renders a wave's findings report: the
// printable tables, charts and CSV files that programme managers publish
// once a wave of baseline assessments closes, like the study's "Findings
// from Wave 1". It is pure: the store fills an [Input] (no names, no child
// IDs), [Build] counts, and the web layer serves [Report.WriteHTML] and
// the CSV writers. Nothing here touches a database or the network.
//
// # Scopes and tables
//
// A [Report] has one [Scope] for the site and one per school, each with the
// same twelve tables in the same order (see [TableIDs]): cohort, csg,
// birth_certificate, food_insecurity, child_hunger, caregiver_depression,
// sdq_bands, resilience, growth, risk_by_domain, referrals_by_sector and
// plan_actions_by_sector. Tables keep raw counts; what is shown is decided
// when a table is written ([Table.Cells]).
//
// # Suppression
//
// Everything that leaves the screen is suppressed: a count from 1 to 4 is
// written "<5" (0 is written 0); a percentage whose numerator or
// denominator is 1 to 4, or is a hidden cell, is written "suppressed"; a
// mean, median, minimum or maximum over 1 to 4 children (or referrals) is
// written "suppressed".
//
// Secondary suppression protects a "<5" cell that could be recovered by
// subtraction. Counts are tied by groups: cells that add up to a total.
// When exactly one cell of a group (its parts and its total) is hidden,
// the smallest other non-zero shown part is hidden too and written
// "suppressed" (the total when no part qualifies, or first in the cohort
// table, whose scored count is every other table's denominator). This
// repeats, over the whole report, until no group has exactly one hidden
// cell. The groups are:
//
//   - cohort: scored + not assessed = in cohort (the total is preferred).
//   - csg, birth_certificate, food_insecurity: the category rows add up to
//     the "All scored children" row, which equals the cohort's scored count.
//   - caregiver_depression: the five bands add up to "Computed"; computed +
//     not computed = the cohort's scored count; moderate, moderately severe
//     and severe add up to "Moderate or worse".
//   - sdq_bands, per subscale row: normal + borderline + abnormal =
//     computed; computed + not computed = the cohort's scored count.
//   - resilience: computed + not computed = the cohort's scored count.
//   - growth: rows that share a z-score have the same "Measured" count
//     (stunted and severely stunted; the four BMI-for-age rows).
//   - risk_by_domain, per domain row: high + moderate + low = assessed;
//     assessed + not assessed = the cohort's scored count; high + moderate
//     = at risk.
//   - referrals_by_sector, per row: completed + declined + unreachable +
//     still open = made; per count column: the sector rows add up to the
//     "All sectors" row.
//   - plan_actions_by_sector, per count column: the sector rows add up to
//     the "All sectors" row.
//   - Across scopes: every count cell of the site equals the sum of the
//     same cell (same table, row key and column) over the schools, when
//     every child, referral, action and plan belongs to a listed school.
//     A school with a few children therefore hides cells of the others.
//
// The groups cover the sums a reader can do with the published counts;
// they do not stop every inference. Means, medians, minima and maxima of
// the site and of schools, and the overlap of the nested growth rows
// (stunted and severely stunted), can still narrow a small group down:
// review a report before publishing it widely.
//
// # Output
//
// [Report.WriteTableCSV] writes one table, [Report.WriteAllCSV] every cell
// of every table in long form, both suppressed and with cells that a
// spreadsheet would run as formulas defused. [Report.Chart] draws the SVG
// charts, from the suppressed cells only, so that a hidden count cannot be
// read from the drawing. [Report.WriteHTML] writes a standalone printable
// A4 document with every table, chart and CSV link.
package findings
