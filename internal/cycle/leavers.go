package cycle

// Reasons a child leaves the study; later waves do not start a cycle for
// a child who left.
const (
	LeftMovedSchool     = "moved_school"      // to a school outside the study
	LeftArea            = "left_area"         // moved out of the site's area
	LeftWithdrewConsent = "withdrew_consent"  // recorded by consent withdrawal
	LeftDeceased        = "deceased"          // the child died
	LeftLostToFollowUp  = "lost_to_follow_up" // could not be found again
	LeftDuplicate       = "duplicate"         // the record was confirmed to be another child's
)

// LeaveReasons are the reasons a person may record (withdrawal and
// duplicates are recorded by their own actions).
var LeaveReasons = []string{LeftMovedSchool, LeftArea, LeftDeceased, LeftLostToFollowUp}
