// Package growth computes WHO anthropometric z-scores (height-for-age,
// weight-for-age, BMI-for-age) by the LMS method from WHO's reference tables,
// which are built into the binary (package who) and may be overridden by a
// directory.
//
// # Tables
//
// The six tab-separated files are WHO's, exactly as its anthro (WHO Child
// Growth Standards 2006, age in days) and anthroplus (WHO Growth Reference
// 2007, age in months) packages distribute them: lenanthro.txt,
// weianthro.txt and bmianthro.txt (2006), hfawho2007.txt, wfawho2007.txt and
// bfawho2007.txt (2007). [LoadEmbedded] reads the copies built in (see
// internal/growth/who/NOTICE); [LoadReferences] reads the same files from a
// directory instead. Columns are found by their header names (sex, age, l,
// m, s and, for lenanthro.txt and bmianthro.txt, loh).
//
// # Which reference, and how age is matched
//
// Age is carried in days ([Measurement.AgeDays]); months and days convert
// with WHO's 30.4375 days per month ([DaysPerMonth]).
//
//   - Up to and including 60 months (AgeDays ≤ 1826.25), the 2006 standards
//     are used. Their rows are whole days, so the age in days is rounded to
//     the nearest whole day, halves upwards (730.5 → 731), which is what
//     WHO's anthro R package does (its round_up helper, applied before the
//     table join; anthro 0.9.2 made exactly 24 months = 730.5 days use day
//     731). We do not interpolate between days: one day changes L, M and S
//     by far less than measurement error, and interpolating would make our
//     z-scores differ from WHO's software. Note that anthro ≥ 0.9.3 stops at
//     age < 60 months; khula also scores exactly 60.0 months, with the table's
//     last row (day 1826).
//   - While the age in whole (completed) months is 61 to 228 for
//     height-for-age and BMI-for-age, and 61 to 120 for weight-for-age, the
//     2007 reference is used. That is the rule WHO's AnthroPlus applies (its
//     output on WHO's own 933-child survey shows it): 120.66 months still
//     gets a weight-for-age and 228.59 months still gets height- and
//     BMI-for-age, while 121 and 229 months do not. Its rows are whole
//     months; for a decimal age L, M and S are each interpolated linearly
//     between the whole months that bracket it (61.25 months: a quarter of
//     the way from row 61 to row 62), which is what WHO's anthroplus R
//     package does (zscore_indicator) and what WHO's earlier who2007 macros
//     did. Rounding or truncating the age instead would shift a z-score by up
//     to half a month of growth.
//   - Within the last whole month (228 ≤ months < 229, or 120 ≤ months < 121
//     for weight-for-age) there is no later month to interpolate towards
//     inside the range, and L, M and S are those of the last row (228 or
//     120). This is what WHO's rule implies with WHO's own tables: they ship
//     a row 229 (121 for weight-for-age) that repeats row 228 (120), so
//     interpolating towards it gives the last row's values. khula uses the
//     last row directly and does not need that extra row.
//   - Between 60 and 61 months (exclusive) WHO's software computes no
//     z-score: anthro stops at 60 months and anthroplus starts at 61 whole
//     months (60.5 months is 60 whole months, outside 61–228). khula follows
//     WHO and reports [ReasonAgeGap] there rather than invent a bridge
//     between the two references.
//   - Beyond those ranges the reason is [ReasonAgeOutOfRange].
//
// # Method
//
// z = ((y/M)^L − 1)/(L·S) for L ≠ 0 and ln(y/M)/S for L = 0, evaluated in a
// numerically stable form. For the weight-based indicators (weight-for-age,
// BMI-for-age) WHO's restricted method applies beyond ±3 SD: above +3,
// z* = 3 + (y − SD3)/(SD3 − SD2); below −3, z* = −3 + (y − SD3neg)/(SD2neg −
// SD3neg), with SDk = M·(1 + L·S·k)^(1/L). Height-for-age is not restricted.
// BMI is weight / (height in metres)².
//
// # Length and height
//
// The 2006 standards are for recumbent length under 731 days and standing
// height from 731 days (the loh column). By default ([PositionAsExpected]) a
// measurement is taken to be in the position the table expects and is not
// adjusted. When [Measurement.Position] says otherwise, khula adjusts as WHO's
// anthro does: standing height under 731 days gets +0.7 cm, recumbent length
// from 731 days gets −0.7 cm; a standing height under 9 months is treated as
// a mistaken position and not adjusted. The adjusted value is also used for
// BMI. The 2007 reference is for standing height and no adjustment is made.
//
// # Oedema
//
// A child with bilateral pitting oedema ([Measurement.Oedema]) gets no
// weight-for-age and no BMI-for-age: the oedema adds weight, and such a
// child counts as severely malnourished whatever the scale says. Both are
// reported as not computed with [ReasonOedema], as WHO's anthro and
// AnthroPlus leave them empty; height-for-age is computed as usual, and
// [Result.BMI] still reports the measured BMI. An oedema that was not
// recorded counts as none, as in WHO's software.
//
// # Flags
//
// Implausible values are flagged and still reported: HAZ < −6 or > +6, WAZ <
// −6 or > +5, BAZ < −5 or > +5. As in WHO's software the test is made on the
// z-score rounded to two decimals, so 6.004 is not flagged and 6.01 is;
// [ZScore.Z] itself keeps full precision.
package growth
