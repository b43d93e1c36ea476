package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/khula-cop/khula/internal/cycle"
	"github.com/khula-cop/khula/internal/dedupe"
)

// IndexKeyer gives the key of the blind index and the ID of the sealing key
// it comes from (codec.Keyring implements it).
type IndexKeyer interface {
	IndexKey() (id string, key []byte)
}

// Errors of duplicate decisions.
var (
	// ErrHoldDecided reports a decision on a hold that was decided already.
	ErrHoldDecided = errors.New("store: this likely duplicate was decided already")
	// ErrCannotLink reports a link that cannot be made: the known child was
	// erased, died, withdrew or is itself a duplicate; or the held record
	// was erased or left the study meanwhile.
	ErrCannotLink = errors.New("store: the known child cannot be linked")
	// ErrCrossSiteLink reports a link that would move a child's record
	// between sites by someone not allowed to.
	ErrCrossSiteLink = errors.New("store: the link moves a child between sites")
	// ErrOpenElsewhere reports a link across sites while the known child
	// still has a cycle open at their site.
	ErrOpenElsewhere = errors.New("store: the known child has a cycle open at their site")
)

// lookupChunk bounds the values of one IN list.
const lookupChunk = 500

// personOf is what the duplicate check compares, from plain (opened) fields.
func personOf(ch Child, cg Caregiver) dedupe.Person {
	p := dedupe.Person{GivenName: ch.GivenName, FamilyName: ch.FamilyName,
		CaregiverGivenName: cg.GivenName, CaregiverFamilyName: cg.FamilyName, CaregiverPhone: cg.Phone}
	if !ch.BirthDate.IsZero() {
		p.BirthDate = ch.BirthDate.UTC().Format(time.DateOnly)
	}
	return p
}

// tokensOf makes a child's blind-index rows (none without an index key).
func (s *Store) tokensOf(ch Child, cg Caregiver) []ChildToken {
	if s.index == nil || ch.ErasedAt != nil {
		return nil
	}
	var out []ChildToken
	for _, t := range s.index.Tokens(personOf(ch, cg)) {
		out = append(out, ChildToken{ChildID: ch.ID, Kind: t.Kind, Token: t.Value, SiteID: ch.SiteID, KeyID: s.index.KeyID()})
	}
	return out
}

// ReindexChildren rebuilds the blind-index tokens of children whose tokens
// were not made with the current key (after a key rotation, or children
// added before the index existed), batch at a time. Erased children have
// no tokens. It reports how many children it indexed.
func (s *Store) ReindexChildren(ctx context.Context, batch int, progress func(done int)) (int, error) {
	if s.index == nil {
		return 0, nil
	}
	if batch <= 0 {
		batch = 500
	}
	keyID := s.index.KeyID()
	done := 0
	after := ""
	for {
		var kids []Child
		err := s.with(ctx).Where("id > ? AND erased_at IS NULL AND same_as = ''", after).
			Where("NOT EXISTS (SELECT 1 FROM child_index x WHERE x.child_id = children.id AND x.key_id = ?)", keyID).
			Order("id").Limit(batch).Find(&kids).Error
		if err != nil {
			return done, fmt.Errorf("children to index: %w", err)
		}
		if len(kids) == 0 {
			return done, nil
		}
		carers, err := s.caregiversOf(ctx, kids)
		if err != nil {
			return done, err
		}
		err = s.with(ctx).Transaction(func(tx *gorm.DB) error {
			ids := make([]string, 0, len(kids))
			var tokens []ChildToken
			for _, ch := range kids {
				ids = append(ids, ch.ID)
				tokens = append(tokens, s.tokensOf(ch, carers[ch.CaregiverID])...)
			}
			if err := tx.Where("child_id IN ?", ids).Delete(&ChildToken{}).Error; err != nil {
				return err
			}
			if len(tokens) == 0 {
				return nil
			}
			// Another process may be rebuilding the same rows: theirs stand.
			return tx.Clauses(clause.OnConflict{DoNothing: true}).CreateInBatches(tokens, 500).Error
		})
		if err != nil {
			return done, fmt.Errorf("writing the blind index: %w", err)
		}
		done += len(kids)
		after = kids[len(kids)-1].ID
		if progress != nil {
			progress(done)
		}
	}
}

// caregiversOf loads (and opens) the caregivers of children, by ID.
func (s *Store) caregiversOf(ctx context.Context, kids []Child) (map[string]Caregiver, error) {
	ids := make([]string, 0, len(kids))
	for _, ch := range kids {
		ids = append(ids, ch.CaregiverID)
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	out := make(map[string]Caregiver, len(ids))
	for chunk := range slices.Chunk(ids, lookupChunk) {
		var rows []Caregiver
		if err := s.with(ctx).Where("id IN ?", chunk).Find(&rows).Error; err != nil {
			return nil, fmt.Errorf("caregivers: %w", err)
		}
		for _, cg := range rows {
			out[cg.ID] = cg
		}
	}
	return out, nil
}

// Suspect is a family of an import that matches a child already known.
type Suspect struct {
	// Index is the family's position in the list checked.
	Index        int
	KnownChildID string
	KnownSiteID  string
	// Exact: a likely match with the same site, school, names and birth
	// date — an import of a child already in the cohort.
	Exact bool
	Match dedupe.Match
}

// FindDuplicates looks for each family's child among the children already
// known at any site, by blind-index tokens (no sealed name is opened to
// search); the few candidates that share a token are opened in memory and
// compared (dedupe.Compare). It returns, for each family with a likely or
// exact match, the best one. Without an index key it finds nothing.
func (s *Store) FindDuplicates(ctx context.Context, siteID string, families []Family) ([]Suspect, error) {
	if s.index == nil || len(families) == 0 {
		return nil, nil
	}
	people := make([]dedupe.Person, len(families))
	byToken := map[string][]int{}
	for i, f := range families {
		people[i] = personOf(f.Child, f.Caregiver)
		for _, t := range s.index.QueryTokens(people[i]) {
			byToken[t.Value] = append(byToken[t.Value], i)
		}
	}
	tokens := make([]string, 0, len(byToken))
	for t := range byToken {
		tokens = append(tokens, t)
	}
	slices.Sort(tokens)
	candidates := make([]map[string]bool, len(families))
	var known []string
	for chunk := range slices.Chunk(tokens, lookupChunk) {
		var rows []ChildToken
		if err := s.with(ctx).Select("child_id", "token").Where("token IN ?", chunk).Find(&rows).Error; err != nil {
			return nil, fmt.Errorf("blind index: %w", err)
		}
		for _, r := range rows {
			for _, i := range byToken[r.Token] {
				if candidates[i] == nil {
					candidates[i] = map[string]bool{}
				}
				candidates[i][r.ChildID] = true
			}
			known = append(known, r.ChildID)
		}
	}
	slices.Sort(known)
	known = slices.Compact(known)
	children := make(map[string]Child, len(known))
	for chunk := range slices.Chunk(known, lookupChunk) {
		var rows []Child
		err := s.with(ctx).Where("id IN ? AND erased_at IS NULL AND same_as = ''", chunk).Find(&rows).Error
		if err != nil {
			return nil, fmt.Errorf("known children: %w", err)
		}
		for _, ch := range rows {
			children[ch.ID] = ch
		}
	}
	kids := make([]Child, 0, len(children))
	for _, ch := range children {
		kids = append(kids, ch)
	}
	carers, err := s.caregiversOf(ctx, kids)
	if err != nil {
		return nil, err
	}
	knownPeople := make(map[string]dedupe.Person, len(children))
	for id, ch := range children {
		knownPeople[id] = personOf(ch, carers[ch.CaregiverID])
	}
	var out []Suspect
	for i, f := range families {
		ids := make([]string, 0, len(candidates[i]))
		for id := range candidates[i] {
			if _, ok := children[id]; ok && id != f.Child.ID {
				ids = append(ids, id)
			}
		}
		slices.Sort(ids)
		var best *Suspect
		for _, id := range ids {
			ch := children[id]
			m := dedupe.Compare(people[i], knownPeople[id])
			if !m.Likely {
				continue
			}
			exact := ch.SiteID == siteID && KeyOf(ch) == KeyOf(f.Child)
			if best == nil || (exact && !best.Exact) || (exact == best.Exact && m.Score > best.Match.Score) {
				best = &Suspect{Index: i, KnownChildID: id, KnownSiteID: ch.SiteID, Exact: exact, Match: m}
			}
		}
		if best != nil {
			out = append(out, *best)
		}
	}
	return out, nil
}

// DuplicateHolds lists the holds that concern a site (the held child's or
// the known child's), of one status ("" for all), oldest first.
func (s *Store) DuplicateHolds(ctx context.Context, siteID, status string, limit int) ([]DuplicateHold, error) {
	q := s.with(ctx).Where("(site_id = ? OR known_site_id = ?)", siteID, siteID)
	if status != "" {
		q = q.Where("status = ?", status)
	}
	var out []DuplicateHold
	return out, q.Order("created_at, id").Limit(limit).Find(&out).Error
}

// DuplicateHold returns one hold.
func (s *Store) DuplicateHold(ctx context.Context, id string) (DuplicateHold, error) {
	var h DuplicateHold
	err := s.with(ctx).Where("id = ?", id).Take(&h).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return h, fmt.Errorf("duplicate hold: %w", ErrNotFound)
	}
	return h, err
}

// DecideDuplicate records a person's decision on a hold, in one
// transaction. HoldDifferent releases the held child into later waves.
// HoldLinked makes the known child the one followed: the held record
// leaves the study as a duplicate pointing at it (same_as), its consents
// move to the known child, the known child takes the held record's site
// and school (a child who had left for another school rejoins), and the
// held record's personal fields and index tokens are erased (one copy of
// a child, not two). A link that moves the known child between sites
// (judged on the rows as they are now) needs acrossSites, and is refused
// while the known child has a cycle open at their site.
func (s *Store) DecideDuplicate(ctx context.Context, id, decision, by string, at time.Time, acrossSites bool) (DuplicateHold, error) {
	if decision != HoldLinked && decision != HoldDifferent {
		return DuplicateHold{}, fmt.Errorf("store: decision must be %s or %s", HoldLinked, HoldDifferent)
	}
	at = at.UTC()
	var h DuplicateHold
	err := s.with(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Where("id = ?", id).Take(&h).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return fmt.Errorf("duplicate hold: %w", ErrNotFound)
			}
			return err
		}
		res := tx.Model(&DuplicateHold{}).Where("id = ? AND status = ?", id, HoldPending).
			Updates(map[string]any{"status": decision, "decided_by": by, "decided_at": at})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return ErrHoldDecided
		}
		h.Status, h.DecidedBy, h.DecidedAt = decision, by, &at
		if decision == HoldDifferent {
			return nil
		}
		return linkDuplicate(tx, h, by, at, acrossSites)
	})
	if err != nil {
		return DuplicateHold{}, err
	}
	return h, nil
}

// linkDuplicate makes the held record a duplicate of the known child.
// Every update is conditional on the state it read, so two links decided
// at once cannot chain into an inconsistent pair: the loser fails.
func linkDuplicate(tx *gorm.DB, h DuplicateHold, by string, at time.Time, acrossSites bool) error {
	var held, known Child
	if err := tx.Select("id", "site_id", "school_id", "erased_at", "left_at").Where("id = ?", h.ChildID).Take(&held).Error; err != nil {
		return fmt.Errorf("held child: %w", err)
	}
	if err := tx.Select("id", "site_id", "erased_at", "left_at", "left_reason", "same_as").Where("id = ?", h.KnownChildID).Take(&known).Error; err != nil {
		return fmt.Errorf("known child: %w", err)
	}
	switch {
	case held.ErasedAt != nil, held.LeftAt != nil:
		return ErrCannotLink
	case known.ErasedAt != nil, known.SameAs != "":
		return ErrCannotLink
	case known.LeftAt != nil && (known.LeftReason == cycle.LeftDeceased || known.LeftReason == cycle.LeftWithdrewConsent || known.LeftReason == cycle.LeftDuplicate):
		return ErrCannotLink
	case known.SiteID != held.SiteID && !acrossSites:
		return ErrCrossSiteLink
	}
	if known.SiteID != held.SiteID {
		var open int64
		if err := tx.Model(&Cycle{}).Where("child_id = ? AND status = ?", known.ID, CycleOpen).Count(&open).Error; err != nil {
			return err
		}
		if open > 0 {
			return ErrOpenElsewhere
		}
	}
	res := tx.Model(&Child{}).Where("id = ? AND left_at IS NULL AND erased_at IS NULL", held.ID).Updates(map[string]any{
		"left_at": at, "left_reason": cycle.LeftDuplicate, "left_by": by, "same_as": known.ID})
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected != 1 {
		return ErrCannotLink
	}
	res = tx.Model(&Child{}).Where("id = ? AND same_as = '' AND erased_at IS NULL AND site_id = ?", known.ID, known.SiteID).Updates(map[string]any{
		"site_id": held.SiteID, "school_id": held.SchoolID, "left_at": nil, "left_reason": "", "left_by": ""})
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected != 1 {
		return ErrCannotLink
	}
	if err := tx.Model(&Consent{}).Where("child_id = ?", held.ID).Update("child_id", known.ID).Error; err != nil {
		return err
	}
	if err := tx.Model(&ChildToken{}).Where("child_id = ?", known.ID).Update("site_id", held.SiteID).Error; err != nil {
		return err
	}
	// Any other pending hold of the held record is moot now.
	if err := tx.Model(&DuplicateHold{}).Where("child_id = ? AND status = ? AND id <> ?", held.ID, HoldPending, h.ID).
		Updates(map[string]any{"status": HoldDifferent, "decided_by": by, "decided_at": at}).Error; err != nil {
		return err
	}
	return erasePersonalTx(tx, held.ID, at)
}

// SameAs returns the child a record was linked to as a duplicate ("" when
// it was not). ErrNotFound for an unknown child.
func (s *Store) SameAs(ctx context.Context, childID string) (string, error) {
	var ch Child
	err := s.with(ctx).Select("same_as").Where("id = ?", childID).Take(&ch).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return "", fmt.Errorf("child: %w", ErrNotFound)
	}
	return ch.SameAs, err
}

// evidenceText joins a match's evidence codes for storage.
func evidenceText(m dedupe.Match) string { return strings.Join(m.Evidence, ",") }

// HoldFor makes the hold of a family's child found likely to duplicate a known child.
func HoldFor(id, siteID, childID string, s Suspect, at time.Time) *DuplicateHold {
	return &DuplicateHold{ID: id, SiteID: siteID, ChildID: childID, KnownChildID: s.KnownChildID, KnownSiteID: s.KnownSiteID,
		Score: s.Match.Score, Evidence: evidenceText(s.Match), Status: HoldPending, CreatedAt: at.UTC()}
}
