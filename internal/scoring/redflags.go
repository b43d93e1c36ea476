package scoring

import (
	"github.com/khula-cop/khula/internal/cycle"
)

// RedFlag returns where one red flag of an instrument version sends its
// urgent referral, as the instrument (after its site variant's
// red_flag_services) declares: the flag's domain, the service type (""
// for a notify-only flag: the safeguarding social worker is prompted and no
// referral is made) and the reason the social worker is told. It reads only
// the loaded definitions, so workflow code may call it; false when the
// instrument is not loaded or has no such flag.
func (r *Registry) RedFlag(ref cycle.InstrumentRef, code string) (cycle.RedFlag, bool) {
	in, ok := r.lookup(ref)
	if !ok {
		return cycle.RedFlag{}, false
	}
	f, ok := in.RedFlag(code)
	if !ok {
		return cycle.RedFlag{}, false
	}
	return cycle.RedFlag{Code: f.Code, Domain: f.Domain, ServiceType: f.ServiceType, Reason: f.Reason}, true
}

// redFlags routes the raised flag codes, in their order.
func (r *Registry) redFlags(ref cycle.InstrumentRef, codes []string) []cycle.RedFlag {
	if len(codes) == 0 {
		return nil
	}
	out := make([]cycle.RedFlag, 0, len(codes))
	for _, code := range codes {
		if f, ok := r.RedFlag(ref, code); ok {
			out = append(out, f)
		}
	}
	return out
}
