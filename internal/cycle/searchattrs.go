package cycle

import (
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
)

// Search attributes registered on the namespace. They carry no personal data:
// site, wave, stage, school and the highest risk level only.
var (
	SASite   = temporal.NewSearchAttributeKeyKeyword("KhulaSite")
	SAWave   = temporal.NewSearchAttributeKeyInt64("KhulaWave")
	SAStage  = temporal.NewSearchAttributeKeyKeyword("KhulaStage")
	SASchool = temporal.NewSearchAttributeKeyKeyword("KhulaSchool")
	SARisk   = temporal.NewSearchAttributeKeyKeyword("KhulaRisk")
	// SAStageSince is when the cycle entered its current stage: ops find
	// cycles that have not moved with it (khula ops stuck).
	SAStageSince = temporal.NewSearchAttributeKeyTime("KhulaStageSince")
)

// SearchAttributeTypes lists the custom search attributes for the engine to register.
func SearchAttributeTypes() map[string]enumspb.IndexedValueType {
	return map[string]enumspb.IndexedValueType{
		SASite.GetName():       enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		SAWave.GetName():       enumspb.INDEXED_VALUE_TYPE_INT,
		SAStage.GetName():      enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		SASchool.GetName():     enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		SARisk.GetName():       enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		SAStageSince.GetName(): enumspb.INDEXED_VALUE_TYPE_DATETIME,
	}
}

// CycleSearchAttributes are set when a cycle starts.
func CycleSearchAttributes(in CycleInput) temporal.SearchAttributes {
	return temporal.NewSearchAttributes(
		SASite.ValueSet(in.SiteID),
		SAWave.ValueSet(int64(in.Wave)),
		SASchool.ValueSet(in.SchoolID),
		SAStage.ValueSet(StageEnrol),
	)
}

// ReferralSearchAttributes are set when a cycle starts a referral.
func ReferralSearchAttributes(in CycleInput) temporal.SearchAttributes {
	return temporal.NewSearchAttributes(
		SASite.ValueSet(in.SiteID),
		SAWave.ValueSet(int64(in.Wave)),
		SASchool.ValueSet(in.SchoolID),
		SAStage.ValueSet(StageRefer),
	)
}
