// Package instrument loads assessment instruments (the Child Well-being
// Tracking Tool and its site variants), validates respondents' answers and
// scores a child's merged answers into scales, per-domain risk levels and
// red flags.
//
// # Definitions
//
// An instrument is a YAML file checked against instruments/instrument.schema.json
// (JSON Schema draft 2020-12) and then against rules a schema cannot express
// (references between items, scales and rules; bands covering each scale's
// range; skip logic reading only earlier items; every domain having rules).
// [Load] and [Parse] report every problem at once as file:line: reason.
// A site variant (extends: cwtt@2) holds only what differs from its base;
// the loader merges it, and every [Result] records the effective instrument
// {id, version, base}.
//
// # Scoring is data, not code
//
// Scales are declarative (sum or mean of items, reverse items, proration,
// sums of scales, bands). Everything else — domain rules, red flags and
// skip logic — is a CEL expression. Expressions see:
//
//	answers      one field per item, present only when answered; has(answers.x)
//	             tests presence and answers.?x.orValue(d) reads with a default.
//	             Types follow the item: choice → int (numeric values) or string
//	             (codes); number → double (int when integer: true);
//	             measurement → double; yesno → bool; date → timestamp.
//	scales       map from scale id to {score double, band string, computed bool,
//	             prorated bool}; score and band are absent when not computed:
//	             scales['sdq.total'].band == 'abnormal'.
//	growth       {hfa, wfa, bfa}, each {z double, computed, flagged, usable bool};
//	             usable = computed && !flagged (WHO's implausible values are
//	             flagged and must not be used); z is absent when not computed.
//	params       one double per parameter (after a variant's overrides).
//	child        {age_months double, sex string}, fields absent when unknown.
//	assessed_on  timestamp of the assessment (unset when unknown).
//	declined     one bool per declinable item: true when the respondent
//	             declined it (answer [Declined]; the item is then absent
//	             from answers and missing for its scales).
//
// A condition that reads an absent value (an unanswered item, a scale not
// computed) without has() or .? does not hold: for skip logic the item is
// skipped; for a rule or red flag it does not fire. Skip logic (show_if) sees
// only answers of earlier items of the same respondent, and params, so a form
// can evaluate it offline.
//
// Every expression is parsed and type-checked when the instrument loads: an
// unknown item, parameter or scale, a band name the scale does not have, a
// type mismatch (comparing a yes/no item with a number) or a condition that
// is not a bool fails the load with the file and line. Evaluation has a cost
// limit ([CostLimit]).
//
// # Why CEL
//
// Rules decide whether a social worker visits a child, so the rule language
// must be safe to hand to site coordinators and predictable to review. CEL
// (Common Expression Language) is not Turing-complete: no loops or
// recursion beyond bounded macros over finite lists, so every expression
// terminates, and its runtime cost can be limited. It is statically typed:
// with the item types declared, mistakes surface at load time rather than
// during a wave. It has a specification and conformance tests, is maintained
// by Google and used for exactly this job (admission and validation rules) in
// Kubernetes, Envoy and Google Cloud IAM, so it will outlive this project's
// first years. expr (expr-lang) is pleasant but has no formal specification,
// weaker static typing of dynamic maps, and looser guarantees on cost and
// termination; a home-grown language would have none of these.
//
// # Levels
//
// A domain none of whose items was answered is not_assessed. Otherwise a red
// flag of the domain makes it high (protection disclosures are red flags
// only, never a score); else its rules run in order (high, then moderate,
// then low) and the first that holds gives the level, the reason and the
// rule's suggested service type (Result.DomainServices); if none holds it
// is low. A notify_only red flag (a declined item) does not set its
// domain's level: it only prompts the safeguarding social worker.
// [Compare] contrasts a reassessment with the baseline.
//
// # Where red flags go
//
// Every red flag declares the site service type its urgent referral goes to
// (service_type), or notify_only: true. A site variant may re-route a base
// flag with red_flag_services. [Instrument.RedFlags] reports the effective
// routes with the line that declared each; package sitecheck checks that
// every school of a site is served by each route.
package instrument
