package growth

import (
	"fmt"
	"math"
	"testing"
)

const mo = DaysPerMonth // days in a month, WHO convention

// TestComputeHandCases checks z-scores against values computed by hand from
// the LMS formula with the table rows named in each comment (WHO sample
// tables). y values with ten decimals were solved from the formula for the
// z-score named in the case.
func TestComputeHandCases(t *testing.T) {
	refs := loadRefs(t)
	cases := []struct {
		name    string
		m       Measurement
		ind     Indicator
		want    float64
		exact   bool    // want must match exactly (y equals M)
		unres   float64 // unrestricted z, when the restricted one must differ from it
		flagged bool
		ref     string
	}{
		// --- medians: y = M, so z = 0 exactly.
		// lenanthro sex 1 day 0: L=1 M=49.8842 S=0.03795
		{name: "median/HFA 2006 boy birth", m: Measurement{Sex: Male, AgeDays: 0, HeightCm: 49.8842}, ind: HeightForAge, want: 0, exact: true, ref: RefWHO2006},
		// weianthro sex 2 day 100: L=0.0264 M=6.0229 S=0.12545
		{name: "median/WFA 2006 girl 100 days", m: Measurement{Sex: Female, AgeDays: 100, WeightKg: 6.0229}, ind: WeightForAge, want: 0, exact: true, ref: RefWHO2006},
		// wfawho2007 sex 2 month 120: L=-0.5958 M=31.8578 S=0.17262
		{name: "median/WFA 2007 girl 120 months", m: Measurement{Sex: Female, AgeDays: 120 * mo, WeightKg: 31.8578}, ind: WeightForAge, want: 0, exact: true, ref: RefWHO2007},
		// hfawho2007 sex 1 month 228: L=1 M=176.5432 S=0.04134
		{name: "median/HFA 2007 boy 228 months", m: Measurement{Sex: Male, AgeDays: 228 * mo, HeightCm: 176.5432}, ind: HeightForAge, want: 0, exact: true, ref: RefWHO2007},

		// --- on the SD lines: y = M(1 + L·S·k)^(1/L).
		// lenanthro sex 1 day 1000: L=1 M=93.9706 S=0.03783
		{name: "SD line/HFA -3", m: Measurement{Sex: Male, AgeDays: 1000, HeightCm: 83.3058766060}, ind: HeightForAge, want: -3, ref: RefWHO2006},
		{name: "SD line/HFA -2", m: Measurement{Sex: Male, AgeDays: 1000, HeightCm: 86.8607844040}, ind: HeightForAge, want: -2, ref: RefWHO2006},
		{name: "SD line/HFA +2", m: Measurement{Sex: Male, AgeDays: 1000, HeightCm: 101.0804155960}, ind: HeightForAge, want: 2, ref: RefWHO2006},
		{name: "SD line/HFA +3", m: Measurement{Sex: Male, AgeDays: 1000, HeightCm: 104.6353233940}, ind: HeightForAge, want: 3, ref: RefWHO2006},
		// weianthro sex 2 day 100: L=0.0264 M=6.0229 S=0.12545 (at ±3 the
		// restricted and unrestricted values meet)
		{name: "SD line/WFA -3", m: Measurement{Sex: Female, AgeDays: 100, WeightKg: 4.1261169330}, ind: WeightForAge, want: -3, ref: RefWHO2006},
		{name: "SD line/WFA -2", m: Measurement{Sex: Female, AgeDays: 100, WeightKg: 4.6825097265}, ind: WeightForAge, want: -2, ref: RefWHO2006},
		{name: "SD line/WFA +2", m: Measurement{Sex: Female, AgeDays: 100, WeightKg: 7.7341189362}, ind: WeightForAge, want: 2, ref: RefWHO2006},
		{name: "SD line/WFA +3", m: Measurement{Sex: Female, AgeDays: 100, WeightKg: 8.7588229049}, ind: WeightForAge, want: 3, ref: RefWHO2006},
		// bmianthro sex 1 day 1000: L=-0.3601 M=15.6982 S=0.0788; height 100 cm
		// makes BMI = weight: SD-3 12.5117880236, SD-2 13.4671823230,
		// SD+2 18.4634820320, SD+3 20.0979599676.
		{name: "SD line/BFA -3", m: Measurement{Sex: Male, AgeDays: 1000, WeightKg: 12.5117880236, HeightCm: 100}, ind: BMIForAge, want: -3, ref: RefWHO2006},
		{name: "SD line/BFA -2", m: Measurement{Sex: Male, AgeDays: 1000, WeightKg: 13.4671823230, HeightCm: 100}, ind: BMIForAge, want: -2, ref: RefWHO2006},
		{name: "SD line/BFA +2", m: Measurement{Sex: Male, AgeDays: 1000, WeightKg: 18.4634820320, HeightCm: 100}, ind: BMIForAge, want: 2, ref: RefWHO2006},
		{name: "SD line/BFA +3", m: Measurement{Sex: Male, AgeDays: 1000, WeightKg: 20.0979599676, HeightCm: 100}, ind: BMIForAge, want: 3, ref: RefWHO2006},

		// --- beyond ±3 SD, weight-based: restricted method.
		// weianthro sex 1 day 700: L=-0.0083 M=11.951 S=0.11369;
		// SD3=16.8166359945 SD2=15.0053947903 SD-3=8.5013656220 SD-2=9.5224222000.
		// 18 kg: 3 + (18-16.8166359945)/(16.8166359945-15.0053947903) = 3.6533442386
		{name: "restricted/WFA 2006 above +3", m: Measurement{Sex: Male, AgeDays: 700, WeightKg: 18}, ind: WeightForAge, want: 3.6533442386, unres: 3.5962835913, ref: RefWHO2006},
		// 7 kg: -3 + (7-8.5013656220)/(9.5224222000-8.5013656220) = -4.4704039466
		{name: "restricted/WFA 2006 below -3", m: Measurement{Sex: Male, AgeDays: 700, WeightKg: 7}, ind: WeightForAge, want: -4.4704039466, unres: -4.7154013380, ref: RefWHO2006},
		// wfawho2007 sex 1 month 100: L=-0.5799 M=26.2911 S=0.14608
		{name: "restricted/WFA 2007 above +3", m: Measurement{Sex: Male, AgeDays: 100 * mo, WeightKg: 55}, ind: WeightForAge, want: 4.5457593673, unres: 4.1104711286, ref: RefWHO2007},
		{name: "restricted/WFA 2007 below -3", m: Measurement{Sex: Male, AgeDays: 100 * mo, WeightKg: 14}, ind: WeightForAge, want: -4.6627675948, unres: -5.2075895187, ref: RefWHO2007},
		// bmianthro sex 2 day 1000: L=-0.5684 M=15.4604 S=0.08465;
		// 20 kg / 0.95² = BMI 22.1606648199; 10 kg / 0.95² = 11.0803324100
		{name: "restricted/BFA 2006 above +3", m: Measurement{Sex: Female, AgeDays: 1000, WeightKg: 20, HeightCm: 95}, ind: BMIForAge, want: 3.9760646466, unres: 3.8462683549, ref: RefWHO2006},
		{name: "restricted/BFA 2006 below -3", m: Measurement{Sex: Female, AgeDays: 1000, WeightKg: 10, HeightCm: 95}, ind: BMIForAge, want: -4.1648375856, unres: -4.3323563065, ref: RefWHO2006},
		// bfawho2007 sex 1 month 150: L=-1.7511 M=17.8704 S=0.11720;
		// 75 kg / 1.5² = 33.3333333333; 24 kg / 1.5² = 10.6666666667
		{name: "restricted/BFA 2007 above +3", m: Measurement{Sex: Male, AgeDays: 150 * mo, WeightKg: 75, HeightCm: 150}, ind: BMIForAge, want: 3.3707093736, unres: 3.2370690316, ref: RefWHO2007},
		{name: "restricted/BFA 2007 below -3 flagged", m: Measurement{Sex: Male, AgeDays: 150 * mo, WeightKg: 24, HeightCm: 150}, ind: BMIForAge, want: -5.6650644765, unres: -7.1553715905, flagged: true, ref: RefWHO2007},

		// --- beyond ±3 SD, height: not restricted.
		// lenanthro sex 1 day 1000: L=1 M=93.9706 S=0.03783; y = M(1±4S)
		{name: "unrestricted/HFA 2006 +4", m: Measurement{Sex: Male, AgeDays: 1000, HeightCm: 108.1902311920}, ind: HeightForAge, want: 4, ref: RefWHO2006},
		{name: "unrestricted/HFA 2006 -4", m: Measurement{Sex: Male, AgeDays: 1000, HeightCm: 79.7509688080}, ind: HeightForAge, want: -4, ref: RefWHO2006},
		// hfawho2007 sex 2 month 150: L=1 M=154.0041 S=0.04483
		// (130/154.0041 - 1)/0.04483 = -3.4768375981
		{name: "unrestricted/HFA 2007 below -3", m: Measurement{Sex: Female, AgeDays: 150 * mo, HeightCm: 130}, ind: HeightForAge, want: -3.4768375981, ref: RefWHO2007},
		{name: "unrestricted/HFA 2007 above +3", m: Measurement{Sex: Female, AgeDays: 150 * mo, HeightCm: 185}, ind: HeightForAge, want: 4.4895543057, ref: RefWHO2007},

		// --- table edges.
		// 60 months = 1826.25 days → lenanthro sex 1 day 1826: L=1 M=109.9593 S=0.04214
		{name: "edge/60 months uses 2006 day 1826", m: Measurement{Sex: Male, AgeDays: 60 * mo, HeightCm: 109.9593}, ind: HeightForAge, want: 0, exact: true, ref: RefWHO2006},
		// 61 months → hfawho2007 sex 1 month 61: L=1 M=110.2647 S=0.04164
		{name: "edge/61 months uses 2007 month 61", m: Measurement{Sex: Male, AgeDays: 61 * mo, HeightCm: 110.2647}, ind: HeightForAge, want: 0, exact: true, ref: RefWHO2007},
		// wfawho2007 sex 1 month 61: L=-0.2026 M=18.5057 S=0.12988
		{name: "edge/61 months WFA 2007", m: Measurement{Sex: Male, AgeDays: 61 * mo, WeightKg: 18.5057}, ind: WeightForAge, want: 0, exact: true, ref: RefWHO2007},
		// hfawho2007 sex 2 month 121: L=1 M=139.1575 S=0.04612 (HFA goes on after WFA stops)
		{name: "edge/121 months HFA still computed", m: Measurement{Sex: Female, AgeDays: 121 * mo, HeightCm: 139.1575}, ind: HeightForAge, want: 0, exact: true, ref: RefWHO2007},
		// bfawho2007 sex 1 month 228: L=-0.8419 M=22.1883 S=0.12948; BMI = 22.1883 at 1 m
		{name: "edge/228 months BFA last row", m: Measurement{Sex: Male, AgeDays: 228 * mo, WeightKg: 22.1883, HeightCm: 100}, ind: BMIForAge, want: 0, ref: RefWHO2007},

		// --- WHO's age rule for the 2007 reference: the age in whole
		// (completed) months is 61–228 (weight-for-age 61–120); within the
		// last whole month the last row's L, M and S are used.
		// wfawho2007 sex 1 month 120: L=-0.6764 M=31.1586 S=0.16305; 35 kg:
		// y/M = 1.1232854, (y/M)^L = 0.9243756, L·S = -0.1102870,
		// z = (0.9243756 - 1)/-0.1102870 = 0.6857050163
		{name: "age rule/WFA 120.66 months uses month 120", m: Measurement{Sex: Male, AgeDays: 120.66 * mo, WeightKg: 35}, ind: WeightForAge, want: 0.6857050163, ref: RefWHO2007},
		// wfawho2007 sex 2 month 120: L=-0.5958 M=31.8578 S=0.17262; 28 kg:
		// y/M = 0.8789056, (y/M)^L = 1.0799390, L·S = -0.1028470,
		// z = (1.0799390 - 1)/-0.1028470 = -0.7772609720
		{name: "age rule/WFA 120.99 months uses month 120", m: Measurement{Sex: Female, AgeDays: 120.99 * mo, WeightKg: 28}, ind: WeightForAge, want: -0.7772609720, ref: RefWHO2007},
		// hfawho2007 sex 2 month 228: L=1 M=163.1548 S=0.04009; 160 cm:
		// z = (160/163.1548 - 1)/0.04009 = (0.9806638 - 1)/0.04009 = -0.4823207217
		{name: "age rule/HFA 228.59 months uses month 228", m: Measurement{Sex: Female, AgeDays: 228.59 * mo, HeightCm: 160}, ind: HeightForAge, want: -0.4823207217, ref: RefWHO2007},
		// bfawho2007 sex 2 month 228: L=-0.7496 M=21.4269 S=0.14441;
		// BMI 52/1.6² = 20.3125, y/M = 0.9479906, (y/M)^L = 1.0408489,
		// L·S = -0.1082497, z = (1.0408489 - 1)/-0.1082497 = -0.3773581272
		{name: "age rule/BFA 228.59 months uses month 228", m: Measurement{Sex: Female, AgeDays: 228.59 * mo, WeightKg: 52, HeightCm: 160}, ind: BMIForAge, want: -0.3773581272, ref: RefWHO2007},
		// hfawho2007 sex 1 month 228: L=1 M=176.5432 S=0.04134; 175 cm:
		// z = (175/176.5432 - 1)/0.04134 = (0.9912588 - 1)/0.04134 = -0.2114466204
		{name: "age rule/HFA 228.99 months uses month 228", m: Measurement{Sex: Male, AgeDays: 228.99 * mo, HeightCm: 175}, ind: HeightForAge, want: -0.2114466204, ref: RefWHO2007},
		// bfawho2007 sex 1 month 228: L=-0.8419 M=22.1883 S=0.12948;
		// BMI 70/1.75² = 22.8571428571, y/M = 1.0301439, (y/M)^L = 0.9753068,
		// L·S = -0.1090092, z = (0.9753068 - 1)/-0.1090092 = 0.2265240890
		{name: "age rule/BFA 228.99 months uses month 228", m: Measurement{Sex: Male, AgeDays: 228.99 * mo, WeightKg: 70, HeightCm: 175}, ind: BMIForAge, want: 0.2265240890, ref: RefWHO2007},

		// --- oedema takes weight-for-age and BMI-for-age away, not height.
		// hfawho2007 sex 1 month 100: L=1 M=129.0466 S=0.04470; 130 cm:
		// z = (130/129.0466 - 1)/0.04470 = (1.0073880 - 1)/0.04470 = 0.1652802868
		{name: "oedema/HFA 2007 still computed", m: Measurement{Sex: Male, AgeDays: 100 * mo, WeightKg: 26.2911, HeightCm: 130, Oedema: true}, ind: HeightForAge, want: 0.1652802868, ref: RefWHO2007},
		// lenanthro sex 2 day 1000: L=1 M=92.8178 → 0
		{name: "oedema/HFA 2006 still computed", m: Measurement{Sex: Female, AgeDays: 1000, WeightKg: 13.256, HeightCm: 92.8178, Oedema: true}, ind: HeightForAge, want: 0, exact: true, ref: RefWHO2006},

		// --- non-integer ages.
		// 2007: 61.25 months interpolates a quarter of the way from month 61
		// (L=1 M=110.2647 S=0.04164) to 62 (L=1 M=110.8006 S=0.04172):
		// L=1 M=110.398675 S=0.04166; (115/110.398675 - 1)/0.04166 = 1.0004601225
		// (month 61 alone would give 1.0313362371).
		{name: "interpolation/HFA 2007 61.25 months", m: Measurement{Sex: Male, AgeDays: 61.25 * mo, HeightCm: 115}, ind: HeightForAge, want: 1.0004601225, ref: RefWHO2007},
		// 61.5 months, bfawho2007 sex 2 months 61 (L=-0.8886 M=15.2441
		// S=0.09692) and 62 (L=-0.9068 M=15.2434 S=0.09738) → L=-0.8977
		// M=15.24375 S=0.09715; 22 kg / 1.1² = 18.1818181818 → 1.6779846235
		// (month 61 alone: 1.6830780682).
		{name: "interpolation/BFA 2007 61.5 months", m: Measurement{Sex: Female, AgeDays: 61.5 * mo, WeightKg: 22, HeightCm: 110}, ind: BMIForAge, want: 1.6779846235, ref: RefWHO2007},
		// 120.5 months, hfawho2007 sex 2 months 120 (M=138.6363 S=0.04614) and
		// 121 (M=139.1575 S=0.04612) → M=138.8969 S=0.04613; y=140 → 0.1721626255
		{name: "interpolation/HFA 2007 120.5 months", m: Measurement{Sex: Female, AgeDays: 120.5 * mo, HeightCm: 140}, ind: HeightForAge, want: 0.1721626255, ref: RefWHO2007},
		// 2006: days are rounded, halves up (WHO anthro). lenanthro sex 2
		// day 730: L=1 M=86.4008 S=0.03733; day 731: L=1 M=85.7299 S=0.03764.
		{name: "rounding/730.4 days uses day 730", m: Measurement{Sex: Female, AgeDays: 730.4, HeightCm: 86.4008}, ind: HeightForAge, want: 0, exact: true, ref: RefWHO2006},
		// (86.4008/85.7299 - 1)/0.03764 = 0.2079102305
		{name: "rounding/730.5 days (24 months) uses day 731", m: Measurement{Sex: Female, AgeDays: 24 * mo, HeightCm: 86.4008}, ind: HeightForAge, want: 0.2079102305, ref: RefWHO2006},
		{name: "rounding/730.6 days uses day 731", m: Measurement{Sex: Female, AgeDays: 730.6, HeightCm: 85.7299}, ind: HeightForAge, want: 0, exact: true, ref: RefWHO2006},

		// --- length/height position (WHO anthro ±0.7 cm).
		// lenanthro sex 1 day 700 (expects L): M=86.9392; standing 86.2392 + 0.7
		{name: "position/standing under 731 days +0.7", m: Measurement{Sex: Male, AgeDays: 700, HeightCm: 86.2392, Position: Standing}, ind: HeightForAge, want: 0, ref: RefWHO2006},
		// lenanthro sex 2 day 1000 (expects H): M=92.8178; recumbent 93.5178 - 0.7
		{name: "position/recumbent from 731 days -0.7", m: Measurement{Sex: Female, AgeDays: 1000, HeightCm: 93.5178, Position: Recumbent}, ind: HeightForAge, want: 0, ref: RefWHO2006},
		// lenanthro sex 1 day 100: L=1 M=62.1826; standing under 9 months is not adjusted
		{name: "position/standing under 9 months not adjusted", m: Measurement{Sex: Male, AgeDays: 100, HeightCm: 62.1826, Position: Standing}, ind: HeightForAge, want: 0, exact: true, ref: RefWHO2006},
		{name: "position/recumbent when expected not adjusted", m: Measurement{Sex: Male, AgeDays: 100, HeightCm: 62.1826, Position: Recumbent}, ind: HeightForAge, want: 0, exact: true, ref: RefWHO2006},

		// --- implausible flags, on z rounded to two decimals.
		// HAZ: lenanthro sex 1 day 1000: L=1 M=93.9706 S=0.03783; y = M(1 + S·z)
		{name: "flag/HAZ +6.00 inside", m: Measurement{Sex: Male, AgeDays: 1000, HeightCm: 115.3000467880}, ind: HeightForAge, want: 6, ref: RefWHO2006},
		{name: "flag/HAZ +6.004 rounds to 6.00 inside", m: Measurement{Sex: Male, AgeDays: 1000, HeightCm: 115.3142664192}, ind: HeightForAge, want: 6.004, ref: RefWHO2006},
		{name: "flag/HAZ +6.006 rounds to 6.01 outside", m: Measurement{Sex: Male, AgeDays: 1000, HeightCm: 115.3213762348}, ind: HeightForAge, want: 6.006, flagged: true, ref: RefWHO2006},
		{name: "flag/HAZ +6.01 outside", m: Measurement{Sex: Male, AgeDays: 1000, HeightCm: 115.3355958660}, ind: HeightForAge, want: 6.01, flagged: true, ref: RefWHO2006},
		{name: "flag/HAZ -6.00 inside", m: Measurement{Sex: Male, AgeDays: 1000, HeightCm: 72.6411532120}, ind: HeightForAge, want: -6, ref: RefWHO2006},
		{name: "flag/HAZ -6.01 outside", m: Measurement{Sex: Male, AgeDays: 1000, HeightCm: 72.6056041340}, ind: HeightForAge, want: -6.01, flagged: true, ref: RefWHO2006},
		// WAZ: weianthro sex 2 day 1000: L=-0.3153 M=13.256 S=0.12729;
		// restricted y = SD3 + (z-3)(SD3-SD2), SD-3 + (z+3)(SD-2 - SD-3)
		{name: "flag/WAZ +5.00 inside", m: Measurement{Sex: Female, AgeDays: 1000, WeightKg: 25.1673278970}, ind: WeightForAge, want: 5, unres: 4.5601015437, ref: RefWHO2006},
		{name: "flag/WAZ +5.01 outside", m: Measurement{Sex: Female, AgeDays: 1000, WeightKg: 25.1936028648}, ind: WeightForAge, want: 5.01, unres: 4.5667976983, flagged: true, ref: RefWHO2006},
		{name: "flag/WAZ -6.00 inside", m: Measurement{Sex: Female, AgeDays: 1000, WeightKg: 5.8419807075}, ind: WeightForAge, want: -6, unres: -7.3451136751, ref: RefWHO2006},
		{name: "flag/WAZ -6.01 outside", m: Measurement{Sex: Female, AgeDays: 1000, WeightKg: 5.8306436760}, ind: WeightForAge, want: -6.01, unres: -7.3648788175, flagged: true, ref: RefWHO2006},
		// BAZ: bfawho2007 sex 1 month 100: L=-1.5252 M=15.8344 S=0.09693;
		// height 130 cm, weight = BMI·1.69
		{name: "flag/BAZ +5.00 inside", m: Measurement{Sex: Male, AgeDays: 100 * mo, WeightKg: 50.5486575719, HeightCm: 130}, ind: BMIForAge, want: 5, ref: RefWHO2007},
		{name: "flag/BAZ +5.01 outside", m: Measurement{Sex: Male, AgeDays: 100 * mo, WeightKg: 50.6049060313, HeightCm: 130}, ind: BMIForAge, want: 5.01, flagged: true, ref: RefWHO2007},
		{name: "flag/BAZ -5.00 inside", m: Measurement{Sex: Male, AgeDays: 100 * mo, WeightKg: 17.9474728341, HeightCm: 130}, ind: BMIForAge, want: -5, ref: RefWHO2007},
		{name: "flag/BAZ -5.01 outside", m: Measurement{Sex: Male, AgeDays: 100 * mo, WeightKg: 17.9320300246, HeightCm: 130}, ind: BMIForAge, want: -5.01, flagged: true, ref: RefWHO2007},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := pick(refs.Compute(tc.m), tc.ind)
			if !got.Computed {
				t.Fatalf("%s not computed: %q", tc.ind, got.Reason)
			}
			if tc.exact && got.Z != tc.want {
				t.Errorf("z = %v, want exactly %v", got.Z, tc.want)
			}
			if math.Abs(got.Z-tc.want) > 1e-6 {
				t.Errorf("z = %.10f, want %.10f", got.Z, tc.want)
			}
			if tc.unres != 0 && math.Abs(got.Z-tc.unres) < 0.01 {
				t.Errorf("z = %.10f is the unrestricted value %.10f; want the restricted one", got.Z, tc.unres)
			}
			if got.Flagged != tc.flagged {
				t.Errorf("flagged = %v, want %v (z %.4f)", got.Flagged, tc.flagged, got.Z)
			}
			if got.Reference != tc.ref {
				t.Errorf("reference = %q, want %q", got.Reference, tc.ref)
			}
			if got.Reason != "" {
				t.Errorf("reason = %q on a computed z-score", got.Reason)
			}
			if got.Indicator != tc.ind {
				t.Errorf("indicator = %q, want %q", got.Indicator, tc.ind)
			}
		})
	}
}

// TestComputeNotComputed checks the reasons given when an indicator cannot
// be computed; "" means the indicator must be computed.
func TestComputeNotComputed(t *testing.T) {
	refs := loadRefs(t)
	full := func(sex Sex, days float64) Measurement {
		return Measurement{Sex: sex, AgeDays: days, WeightKg: 20, HeightCm: 110}
	}
	oedema := func(m Measurement) Measurement {
		m.Oedema = true
		return m
	}
	cases := []struct {
		name          string
		m             Measurement
		hfa, wfa, bfa string
	}{
		{"all present", full(Male, 1000), "", "", ""},
		{"weight missing", Measurement{Sex: Male, AgeDays: 1000, HeightCm: 95}, "", ReasonWeightMissing, ReasonWeightMissing},
		{"height missing", Measurement{Sex: Male, AgeDays: 1000, WeightKg: 14}, ReasonHeightMissing, "", ReasonHeightMissing},
		{"both missing", Measurement{Sex: Female, AgeDays: 70 * mo}, ReasonHeightMissing, ReasonWeightMissing, ReasonWeightMissing},
		{"negative weight", Measurement{Sex: Male, AgeDays: 1000, WeightKg: -3, HeightCm: 95}, "", ReasonWeightInvalid, ReasonWeightInvalid},
		{"NaN weight", Measurement{Sex: Male, AgeDays: 1000, WeightKg: math.NaN(), HeightCm: 95}, "", ReasonWeightInvalid, ReasonWeightInvalid},
		{"negative height", Measurement{Sex: Male, AgeDays: 1000, WeightKg: 14, HeightCm: -95}, ReasonHeightInvalid, "", ReasonHeightInvalid},
		{"infinite height", Measurement{Sex: Male, AgeDays: 1000, WeightKg: 14, HeightCm: math.Inf(1)}, ReasonHeightInvalid, "", ReasonHeightInvalid},
		{"recumbent adjustment leaves no height", Measurement{Sex: Male, AgeDays: 1000, WeightKg: 14, HeightCm: 0.5, Position: Recumbent}, ReasonHeightInvalid, "", ReasonHeightInvalid},
		{"sex 0", Measurement{AgeDays: 1000, WeightKg: 14, HeightCm: 95}, ReasonSexInvalid, ReasonSexInvalid, ReasonSexInvalid},
		{"sex 3", full(3, 1000), ReasonSexInvalid, ReasonSexInvalid, ReasonSexInvalid},
		{"age negative", full(Male, -1), ReasonAgeNegative, ReasonAgeNegative, ReasonAgeNegative},
		{"age unknown", full(Male, math.NaN()), ReasonAgeMissing, ReasonAgeMissing, ReasonAgeMissing},
		{"age infinite", full(Male, math.Inf(1)), ReasonAgeOutOfRange, ReasonAgeOutOfRange, ReasonAgeOutOfRange},
		{"60 months + 0.01 day: gap", full(Male, 60*mo+0.01), ReasonAgeGap, ReasonAgeGap, ReasonAgeGap},
		{"60.5 months: gap", full(Female, 60.5*mo), ReasonAgeGap, ReasonAgeGap, ReasonAgeGap},
		{"1856 days: gap", full(Female, 1856), ReasonAgeGap, ReasonAgeGap, ReasonAgeGap},
		{"61 months just under: gap", full(Female, 61*mo-0.01), ReasonAgeGap, ReasonAgeGap, ReasonAgeGap},
		// WHO's rule is on whole months: 61–120 for WFA, 61–228 for HFA and BFA.
		{"120 months WFA last month", full(Male, 120*mo), "", "", ""},
		{"120.5 months WFA still 120 whole months", full(Male, 120.5*mo), "", "", ""},
		{"120.99 months WFA still 120 whole months", full(Female, 120.99*mo), "", "", ""},
		{"121 months WFA stops", full(Male, 121*mo), "", ReasonAgeOutOfRange, ""},
		{"121.3 months WFA stops", full(Female, 121.3*mo), "", ReasonAgeOutOfRange, ""},
		{"228 months last month", full(Female, 228*mo), "", ReasonAgeOutOfRange, ""},
		{"228.5 months still 228 whole months", full(Female, 228.5*mo), "", ReasonAgeOutOfRange, ""},
		{"228.99 months still 228 whole months", full(Male, 228.99*mo), "", ReasonAgeOutOfRange, ""},
		{"229 months out", full(Female, 229*mo), ReasonAgeOutOfRange, ReasonAgeOutOfRange, ReasonAgeOutOfRange},
		{"229.2 months out", full(Male, 229.2*mo), ReasonAgeOutOfRange, ReasonAgeOutOfRange, ReasonAgeOutOfRange},
		// Oedema: WFA and BFA not computed, HFA is; the age rules come first.
		{"oedema 2006", oedema(full(Female, 1000)), "", ReasonOedema, ReasonOedema},
		{"oedema 2007", oedema(full(Male, 100*mo)), "", ReasonOedema, ReasonOedema},
		{"oedema 120.66 months", oedema(full(Male, 120.66*mo)), "", ReasonOedema, ReasonOedema},
		{"oedema after WFA's range", oedema(full(Female, 150*mo)), "", ReasonAgeOutOfRange, ReasonOedema},
		{"oedema without weight", oedema(Measurement{Sex: Male, AgeDays: 80 * mo, HeightCm: 115}), "", ReasonOedema, ReasonOedema},
		{"oedema without height", oedema(Measurement{Sex: Male, AgeDays: 80 * mo, WeightKg: 20}), ReasonHeightMissing, ReasonOedema, ReasonOedema},
		{"oedema in the gap", oedema(full(Male, 60.5*mo)), ReasonAgeGap, ReasonAgeGap, ReasonAgeGap},
		{"oedema past 228 months", oedema(full(Male, 229*mo)), ReasonAgeOutOfRange, ReasonAgeOutOfRange, ReasonAgeOutOfRange},
		{"25 years out", full(Male, 300*mo), ReasonAgeOutOfRange, ReasonAgeOutOfRange, ReasonAgeOutOfRange},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := refs.Compute(tc.m)
			for _, c := range []struct {
				z    ZScore
				want string
			}{{res.HFA, tc.hfa}, {res.WFA, tc.wfa}, {res.BFA, tc.bfa}} {
				if c.want == "" {
					if !c.z.Computed || c.z.Reason != "" {
						t.Errorf("%s: computed=%v reason=%q, want computed", c.z.Indicator, c.z.Computed, c.z.Reason)
					}
					if math.IsNaN(c.z.Z) || math.IsInf(c.z.Z, 0) {
						t.Errorf("%s: z = %v", c.z.Indicator, c.z.Z)
					}
					continue
				}
				if c.z.Computed || c.z.Reason != c.want || c.z.Z != 0 || c.z.Flagged {
					t.Errorf("%s: computed=%v z=%v flagged=%v reason=%q, want not computed with %q",
						c.z.Indicator, c.z.Computed, c.z.Z, c.z.Flagged, c.z.Reason, c.want)
				}
			}
		})
	}
}

// TestComputeOedemaKeepsBMI checks that oedema leaves the measured BMI and
// the height used in the result: only the z-scores are withheld.
func TestComputeOedemaKeepsBMI(t *testing.T) {
	refs := loadRefs(t)
	// 20 kg / 1.1² = 16.5289256198
	res := refs.Compute(Measurement{Sex: Male, AgeDays: 80 * mo, WeightKg: 20, HeightCm: 110, Oedema: true})
	if math.Abs(res.BMI-16.5289256198) > 1e-9 || res.HeightUsedCm != 110 {
		t.Errorf("BMI %v, height used %v; want 16.5289256198 and 110", res.BMI, res.HeightUsedCm)
	}
	for _, z := range []ZScore{res.WFA, res.BFA} {
		if z.Computed || z.Z != 0 || z.Flagged || z.Reason != ReasonOedema || z.Reference != RefWHO2007 {
			t.Errorf("%s = %+v, want not computed with %q against %q", z.Indicator, z, ReasonOedema, RefWHO2007)
		}
	}
}

// TestComputeLastMonthUsesLastRow checks, on made-up tables whose row 229
// (121 for weight-for-age) differs from row 228 (120), unlike WHO's, that an
// age within the last whole month uses the last row as it is: L=1, M=50+age,
// S=0.04. At 228.5 months, 278 cm is row 228's median (z = 0); interpolating
// half-way to row 229 (M=279) would give M=278.5 and z = (278/278.5 −
// 1)/0.04 = −0.0448833034. Likewise 170 kg at 120.5 months (row 120, M=170).
// Tables that stop at the last row are enough.
func TestComputeLastMonthUsesLastRow(t *testing.T) {
	cut := func(lines []string, last int) []string {
		var out []string
		for _, l := range lines {
			var sex, age int
			if _, err := fmt.Sscanf(l, "%d\t%d", &sex, &age); err == nil && age > last {
				continue
			}
			out = append(out, l)
		}
		return out
	}
	for _, withExtraRow := range []bool{true, false} {
		t.Run(fmt.Sprintf("row after the last present: %v", withExtraRow), func(t *testing.T) {
			tables := syntheticTables()
			if !withExtraRow {
				tables[FileHeightForAge2007] = cut(tables[FileHeightForAge2007], 228)
				tables[FileBMIForAge2007] = cut(tables[FileBMIForAge2007], 228)
				tables[FileWeightForAge2007] = cut(tables[FileWeightForAge2007], 120)
			}
			refs, err := LoadReferences(writeTables(t, tables, "\n"))
			if err != nil {
				t.Fatalf("LoadReferences: %v", err)
			}
			for _, c := range []struct {
				name string
				m    Measurement
				ind  Indicator
			}{
				{"HFA 228.5 months", Measurement{Sex: Female, AgeDays: 228.5 * mo, HeightCm: 278}, HeightForAge},
				{"HFA 228.99 months", Measurement{Sex: Male, AgeDays: 228.99 * mo, HeightCm: 278}, HeightForAge},
				// BMI 278 needs weight 278 at 100 cm.
				{"BFA 228.5 months", Measurement{Sex: Male, AgeDays: 228.5 * mo, WeightKg: 278, HeightCm: 100}, BMIForAge},
				{"WFA 120.5 months", Measurement{Sex: Female, AgeDays: 120.5 * mo, WeightKg: 170}, WeightForAge},
				{"WFA 120.99 months", Measurement{Sex: Male, AgeDays: 120.99 * mo, WeightKg: 170}, WeightForAge},
			} {
				if got := pick(refs.Compute(c.m), c.ind); !got.Computed || got.Z != 0 {
					t.Errorf("%s: %+v, want z exactly 0 (row %s)", c.name, got, map[bool]string{true: "120", false: "228"}[c.ind == WeightForAge])
				}
			}
			// Before the last month, interpolation goes on as usual: 227.5
			// months is half-way between M=277 and M=278, so 277.5 is z = 0.
			if got := refs.Compute(Measurement{Sex: Male, AgeDays: 227.5 * mo, HeightCm: 277.5}).HFA; !got.Computed || math.Abs(got.Z) > 1e-12 {
				t.Errorf("HFA 227.5 months: %+v, want z 0", got)
			}
		})
	}
}

func TestComputeNilReferences(t *testing.T) {
	var refs *References
	cases := []struct {
		name string
		m    Measurement
	}{
		{"full measurement", Measurement{Sex: Male, AgeDays: 1000, WeightKg: 14, HeightCm: 95}},
		{"empty measurement", Measurement{}},
		{"bad measurement", Measurement{Sex: 9, AgeDays: -4, WeightKg: -1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := refs.Compute(tc.m)
			for _, z := range []ZScore{res.HFA, res.WFA, res.BFA} {
				if z.Computed || z.Reason != ReasonNoTables {
					t.Errorf("%s: computed=%v reason=%q, want %q", z.Indicator, z.Computed, z.Reason, ReasonNoTables)
				}
			}
			if res.HFA.Indicator != HeightForAge || res.WFA.Indicator != WeightForAge || res.BFA.Indicator != BMIForAge {
				t.Errorf("indicators = %q %q %q", res.HFA.Indicator, res.WFA.Indicator, res.BFA.Indicator)
			}
		})
	}
	if refs.Dir() != "" {
		t.Errorf("nil Dir() = %q", refs.Dir())
	}
}

// TestComputeBMIAndHeightUsed checks the derived values reported with the
// z-scores.
func TestComputeBMIAndHeightUsed(t *testing.T) {
	refs := loadRefs(t)
	cases := []struct {
		name       string
		m          Measurement
		wantHeight float64
		wantBMI    float64
	}{
		// 20 kg / 1.1² = 16.5289256198
		{"2007 as measured", Measurement{Sex: Male, AgeDays: 80 * mo, WeightKg: 20, HeightCm: 110}, 110, 16.5289256198},
		// standing 80 cm at 500 days (expects length) → 80.7 cm; 11 / 0.807² = 16.8906209453
		{"2006 standing adjusted", Measurement{Sex: Female, AgeDays: 500, WeightKg: 11, HeightCm: 80, Position: Standing}, 80.7, 16.8906209453},
		{"no weight", Measurement{Sex: Female, AgeDays: 500, HeightCm: 80}, 80, 0},
		{"no height", Measurement{Sex: Female, AgeDays: 500, WeightKg: 11}, 0, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := refs.Compute(tc.m)
			if math.Abs(res.HeightUsedCm-tc.wantHeight) > 1e-9 {
				t.Errorf("HeightUsedCm = %v, want %v", res.HeightUsedCm, tc.wantHeight)
			}
			if math.Abs(res.BMI-tc.wantBMI) > 1e-9 {
				t.Errorf("BMI = %.10f, want %.10f", res.BMI, tc.wantBMI)
			}
		})
	}
}

// TestLMSFormula checks the formula helpers on L = 0 (the log form) and on
// an L small enough to defeat the naive formula, against hand values.
func TestLMSFormula(t *testing.T) {
	cases := []struct {
		name string
		y    float64
		p    lms
		want float64
	}{
		// ln(12/10)/0.1 = 1.8232155679
		{"L=0 log form", 12, lms{0, 10, 0.1}, 1.8232155679},
		// ((12/10)^1e-12 - 1)/(1e-12·0.1) → ln(1.2)/0.1 as L → 0
		{"L tiny", 12, lms{1e-12, 10, 0.1}, 1.8232155679},
		// ((12/10)^1 - 1)/(1·0.1) = 2
		{"L=1", 12, lms{1, 10, 0.1}, 2},
		// ((12/10)^-1 - 1)/(-1·0.1) = 1.6666666667
		{"L=-1", 12, lms{-1, 10, 0.1}, 1.6666666667},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := zscore(tc.y, tc.p); math.Abs(got-tc.want) > 1e-9 {
				t.Errorf("zscore = %.10f, want %.10f", got, tc.want)
			}
		})
	}
	t.Run("SD lines invert the z-score", func(t *testing.T) {
		for _, p := range []lms{{0, 10, 0.1}, {-1.5, 16, 0.1}, {0.35, 3.3, 0.146}} {
			for _, k := range []float64{-3, -2, 2, 3} {
				if got := zscore(sdLine(p, k), p); math.Abs(got-k) > 1e-9 {
					t.Errorf("%+v: z(SD%v) = %v", p, k, got)
				}
			}
		}
	})
	t.Run("undefined SD line is NaN, not a panic", func(t *testing.T) {
		if v := sdLine(lms{2, 10, 0.5}, -3); !math.IsNaN(v) {
			t.Errorf("sdLine = %v, want NaN", v)
		}
	})
}

func BenchmarkCompute(b *testing.B) {
	refs := loadRefs(b)
	ms := []Measurement{
		{Sex: Male, AgeDays: 400, WeightKg: 9.5, HeightCm: 75},
		{Sex: Female, AgeDays: 1500, WeightKg: 15, HeightCm: 100, Position: Recumbent},
		{Sex: Male, AgeDays: 72.4 * mo, WeightKg: 20, HeightCm: 115},
		{Sex: Female, AgeDays: 150.7 * mo, WeightKg: 60, HeightCm: 150},
	}
	b.ReportAllocs()
	var sink float64
	i := 0
	for b.Loop() {
		sink += refs.Compute(ms[i%len(ms)]).BFA.Z
		i++
	}
	_ = sink
}

// TestComputeExtremeInputs feeds absurd values through Compute: each
// indicator must come back either computed with a finite z or not computed
// with a reason, never a panic or a NaN.
func TestComputeExtremeInputs(t *testing.T) {
	refs := loadRefs(t)
	values := []float64{0, -1, 1e-300, 1e-6, 0.5, 1e6, 1e300, math.MaxFloat64, math.Inf(1), math.Inf(-1), math.NaN()}
	ages := []float64{0, 0.49, 0.5, 730.5, 1826.25, 1826.26, 61 * mo, 100.999 * mo, 228 * mo, -0.1, 1e300, math.NaN()}
	for _, sex := range []Sex{0, Male, Female, 7} {
		for _, age := range ages {
			for _, w := range values {
				for _, h := range values {
					for _, pos := range []Position{PositionAsExpected, Recumbent, Standing, 9} {
						m := Measurement{Sex: sex, AgeDays: age, WeightKg: w, HeightCm: h, Position: pos}
						res := refs.Compute(m)
						for _, z := range []ZScore{res.HFA, res.WFA, res.BFA} {
							if z.Computed == (z.Reason != "") || math.IsNaN(z.Z) || math.IsInf(z.Z, 0) {
								t.Fatalf("%+v: %+v", m, z)
							}
						}
					}
				}
			}
		}
	}
}
