// Package odkform writes a site's effective instrument as an ODK form: an
// XLSForm workbook (for ODK Central, pyxform, Kobo) and an ODK XForm 1.0
// document (https://getodk.github.io/xforms-spec/). The intake of ODK
// submissions is written against the contract below; change it only with
// the intake.
//
// The design is one intermediate model: [Build] makes a [Form] (the rows
// of an XLSForm: survey, choices, settings) from an [instrument.Instrument]
// and its site; [WriteXLSForm] and [WriteXForm] write the same Form, and
// [ReadXLSForm] reads a written workbook back into it.
//
// # The form contract
//
// One form holds every respondent; a submission is one respondent's form
// for one child's cycle.
//
//   - cycle_ref (text, required): the child's cycle reference,
//     <site>/<wave>/<child id>, e.g. moutse/1/ch-0bf35071b4, constrained by
//     regex(., '^<site>/[1-9][0-9]*/ch-[0-9a-f]+$'). It is "pre-loaded":
//     its default is empty, and the coordinator's work-list links fill it
//     (ODK Central's pre-filled links, or the web form's URL parameter
//     d[/data/cycle_ref]=moutse/1/ch-...); a fieldworker without a link
//     copies it from the work list. There is no jr:preload on it.
//   - phase (select_one phase, required, default baseline): baseline or
//     reassessment.
//   - respondent (select_one respondent, required): one of the
//     instrument's respondents (caregiver, child, teacher, nurse).
//   - one group per respondent, named by the respondent id and relevant
//     when ${respondent} = '<id>', holding that respondent's items in
//     instrument order. A field is named exactly by its item id, so the
//     answers arrive at /data/<respondent>/<item id>.
//   - meta/instanceID (jr:preload="uid"; an XLSForm gets it from pyxform).
//
// Items become questions by type:
//
//	yesno        select_one yesno (yes, no); a declinable one
//	             select_one yesno_declinable (yes, no, declined)
//	choice       select_one <choice set name>, or <item id> for inline
//	             choices; choice names are the values, numbers written
//	             without a trailing .0 (0, 1, 2.5). A declinable item uses
//	             <list>_declinable: the list plus the choice declined.
//	number,      integer when the item is integer, else decimal, with the
//	measurement  constraint ". >= min and . <= max" (the bounds it has);
//	             the unit is added to the label: "Weight (kg)".
//	date         date
//
// ODK cannot put "declined" into a number or a date, so a declinable
// number, measurement or date item gets a companion question just before
// it: <item id>_declined (select_one yesno, not required, relevant when
// the item is). The item is relevant only when ${<id>_declined} != 'yes',
// and keeps its own required. The intake maps <id>_declined = yes to the
// answer "declined" (and ignores the companion otherwise); for a select,
// the choice declined is the answer "declined".
//
// required is yes for required items. relevant is the item's show_if
// ([instrument.Instrument.ShowIfCond]) written in XPath: answers of yes/no
// items compare as 'yes' and 'no' (a yes/no answer used as a condition is
// ${x} = 'yes'), numeric answers are read with number(${x}), answer_or
// reads if(<x not given>, <default>, <value>) (a code with default ” is
// just ${x}), answered is ${x} != ”, declined is ${x} = 'declined' (or
// ${x_declined} = 'yes' for a companion). An answer read without a default
// that is missing makes the condition false, as in CEL, and a declined
// answer counts as missing; and/or follow CEL, where a missing side does
// not matter if the other side decides. XLSForm expressions use ${item};
// the XForm uses absolute paths /data/<respondent>/<item>. Help becomes
// the hint.
//
// # Settings and languages
//
// form_id is khula_<site>; form_title is "<instrument title> - <site name>
// - <instrument ref>", so the full ref (cwtt-moutse@2.0.0 (base
// cwtt@2.0.0)) is in every form. version is [FormVersion] of the ref:
// MAJOR, MINOR and PATCH in three digits each, and a variant's base after
// an underscore: cwtt-moutse@2.0.0 on cwtt@2.0.0 is 002000000_002000000.
// These strings sort as the versions do and change when either file
// changes version.
//
// The form's languages are the instrument's languages in which some item,
// help text or choice has wording, and always the instrument's default
// language. Columns are named label::English (en), label::Sepedi (nso),
// label::isiNdebele (nr), label::isiZulu (zu), label::Sesotho (st),
// label::Setswana (tn), ... (unknown codes as label::xx (xx)); hint and
// constraint_message, and the choices' labels, likewise. The XForm's
// itext translations carry the same names. A text missing in a language
// is given in the instrument's default language (English), never left
// empty; khula's own wording (the fixed fields, yes/no, declined, the
// respondents' group labels, constraint messages) is English in every
// language until it is translated. default_language is the site's
// default language when the form has it, else the instrument's.
package odkform
