// Package dedupe finds children a cohort import may already know, without
// ever storing a name, birth date or phone number in the clear.
//
// Children's names are sealed (encrypted) at rest, so the check runs in two
// steps:
//
//  1. Blocking. Next to each sealed record we keep a keyed blind index: a few
//     HMAC-SHA256 tokens over normalised fields ([Indexer.Tokens]). For a
//     new person, [Indexer.QueryTokens] gives the tokens to look up; every
//     known person who shares ANY of them (birth date, phone or name
//     skeleton) is a candidate. Without the key a token can neither be
//     turned back into its value nor computed for a guessed value; equal
//     values do give equal tokens, so the index shows which records share a
//     field, and nothing more.
//  2. Comparison. Candidates are opened in memory and compared with the new
//     person by [Compare], which says whether the pair should be held for
//     the study coordinator ([Match.Likely]).
//
// Nothing this package returns carries personal data: errors are fixed
// texts and [Match.Evidence] holds codes only (the Evidence* constants).
//
// # Normalisation
//
// [Normalise] strips accents (é→e, ñ→n, ş→s, and a small table for letters
// Unicode does not decompose: ø→o, ß→ss, æ→ae, ł→l...), lower-cases, drops
// hyphens, apostrophes (straight and curly), full stops and commas, turns any
// other run of punctuation, symbols or white space into one space and trims.
// [NormalisePhone] keeps digits and writes South African numbers in their
// national form: "+27 82 123 4567", "0027821234567" and "27821234567" all
// become "0821234567". Fewer than nine digits is no phone at all ("").
//
// # Tokens
//
// A token is hex(HMAC-SHA256(key, kind + "\x00" + value)) where value is:
//
//   - birth_date: the date as YYYY-MM-DD, when it is a real calendar date;
//   - phone: [NormalisePhone] of the caregiver's phone, when not empty;
//   - name: the skeleton of the family name, ":", and the first letter of
//     the skeleton of the given name, when the family name is not empty.
//
// The name skeleton makes spelling and transliteration variants collide.
// Working on the normalised name with spaces and digits removed:
//
//  1. letters that sound alike are mapped: ph→f, ck→k, c→k, q→k, x→k (c, q
//     and x are the click letters of isiZulu and isiXhosa), z→s, v→f, y→i,
//     w→u;
//  2. an h straight after a consonant is dropped (Dhlamini→Dlamini,
//     Khumalo→Kumalo, Thabo→Tabo);
//  3. vowels after the first letter are dropped (Mokoena and Mokwena, via
//     w→u, both give mkn);
//  4. runs of one letter become one (Nkosi, Nkosie and Nkossi give nks).
//
// So "Mahlangu"/"Mahlango" give mhlng and "Nkosi"/"Nkosie" give nks. The
// skeleton is deliberately coarse: it only chooses candidates, which
// [Compare] then judges on the real names. [Indexer.QueryTokens] adds two
// query-only tokens for common typing slips: the birth date with day and
// month swapped (2015-03-04 for 2015-04-03) when that is another real date,
// and the name token with given and family names the other way round.
//
// # Decision rule
//
// [Compare] normalises both people and measures:
//
//   - name similarity: Jaro–Winkler ([JaroWinkler]) of the full names
//     (given + " " + family), the better of that order and the other
//     person's family + " " + given, so swapped name order still matches;
//   - birth date: exact, swapped (day and month swapped, both real dates),
//     a year slip (same day and month, years one or two apart), differs,
//     or unknown (either missing or not a real date);
//   - caregiver: supports when both phones are present and equal, or the
//     caregivers' full names have Jaro–Winkler ≥ 0.90; contradicts when both
//     phones are present and differ AND the caregivers' names are not
//     similar (Jaro–Winkler < 0.85, or either name missing); otherwise
//     neutral.
//
// The pair is Likely (hold for the coordinator) when
//
//   - name similarity ≥ 0.90, the birth date is exact or swapped and the
//     caregiver does not contradict; or
//   - name similarity ≥ 0.85, the birth date is exact and the caregiver
//     supports; or
//   - name similarity ≥ 0.97, the birth date is a year slip and the
//     caregiver supports (siblings do not share a given name, so the same
//     name with the same caregiver is a year typed wrong);
//
// unless the twins guard applies: the birth dates agree (exact or swapped),
// both given names are present and their Jaro–Winkler (taken in the name
// order that matched best) is below 0.80. Twins share a birth date and a
// caregiver and often a family name, so only the given name tells them
// apart. A different child with the same name and birth date but another
// caregiver (different phone and dissimilar caregiver name) is not Likely
// because the caregiver contradicts. Twins whose given names are close
// (Thando and Thandi, or Siyabonga and Siyamthanda, given-name similarity
// ≥ 0.80) cannot be told from a typing slip and are held as Likely: the
// coordinator decides.
//
// [Match.Score] is a blend for ranking, not the decision:
//
//	Score = 0.6·name + 0.3·dob + 0.1·caregiver
//
// with dob 1 (exact), 0.8 (swapped), 0.5 (unknown or a year slip) or 0
// (differs), and
// caregiver 1 (supports), 0.5 (neutral) or 0 (contradicts).
package dedupe
