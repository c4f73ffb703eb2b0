package keyplane

import (
	"strconv"
)

// Usage reports arrive by the tens of thousands a second, and DecodeJSON
// (a strict walk, then encoding/json) cost about as much as storing them.
// The decoders here read the plain shape reporters send — one flat object of
// known fields, ASCII strings without escapes, JSON numbers — directly, and
// hand anything else to DecodeJSON whole, so that every refusal, and every
// body outside that shape, is answered exactly as DecodeJSON answers it.
// They never accept what DecodeJSON refuses, nor decode differently
// (FuzzUsageDecoders checks both).

// DecodeUsageReport decodes one usage report, a line of an import file, as
// DecodeJSON would.
func DecodeUsageReport(data []byte) (UsageReport, error) {
	s := usageScanner{b: data}
	var vals [1]reportValues
	if r, ok := s.report(&vals[0]); ok && s.end() {
		return r, nil
	}
	var r UsageReport
	return r, DecodeJSON(data, &r)
}

// DecodeUsageBatch decodes the body of POST /v2/usage-metrics,
// {"points": [report, …]}, as DecodeJSON would decode it into a struct
// with one field, Points *[]UsageReport `json:"points"`: nil when points is
// absent or null.
func DecodeUsageBatch(data []byte) (*[]UsageReport, error) {
	if pts, ok := fastUsageBatch(data); ok {
		return pts, nil
	}
	var b struct {
		Points *[]UsageReport `json:"points"`
	}
	err := DecodeJSON(data, &b)
	return b.Points, err
}

func fastUsageBatch(data []byte) (*[]UsageReport, bool) {
	s := usageScanner{b: data}
	if !s.byte('{') {
		return nil, false
	}
	if k, ok := s.key(); !ok || string(k) != "points" || !s.byte('[') {
		return nil, false
	}
	// A report's values live in one slab per batch rather than four
	// allocations each; an object has at most a few dozen bytes, which
	// bounds the count from the body's length.
	out := make([]UsageReport, 0, min(len(data)/40+1, 1<<16))
	var slab []reportValues
	s.ws()
	if s.peek() == ']' {
		s.i++
	} else {
		for {
			if len(slab) == 0 {
				slab = make([]reportValues, 256)
			}
			r, ok := s.report(&slab[0])
			if !ok {
				return nil, false
			}
			slab = slab[1:]
			out = append(out, r)
			s.ws()
			switch s.peek() {
			case ',':
				s.i++
				continue
			case ']':
				s.i++
			default:
				return nil, false
			}
			break
		}
	}
	if !s.byte('}') || !s.end() {
		return nil, false
	}
	return &out, true
}

// reportValues holds what a decoded UsageReport points to.
type reportValues struct {
	id            FlexibleID
	sub, date, mt string
	value         float64
}

// usageScanner reads the plain shape of usage reports; any method answers
// false for anything outside it.
type usageScanner struct {
	b []byte
	i int
}

func (s *usageScanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *usageScanner) peek() byte {
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

// byte skips white space and then c.
func (s *usageScanner) byte(c byte) bool {
	s.ws()
	if s.peek() != c {
		return false
	}
	s.i++
	return true
}

// end says whether only white space is left.
func (s *usageScanner) end() bool {
	s.ws()
	return s.i == len(s.b)
}

// str reads a string of printable ASCII without escapes, and returns its
// contents.
func (s *usageScanner) str() ([]byte, bool) {
	if !s.byte('"') {
		return nil, false
	}
	start := s.i
	for ; s.i < len(s.b); s.i++ {
		switch c := s.b[s.i]; {
		case c == '"':
			s.i++
			return s.b[start : s.i-1], true
		case c < 0x20 || c >= 0x7f || c == '\\':
			return nil, false
		}
	}
	return nil, false
}

// key reads an object's member name and its colon.
func (s *usageScanner) key() ([]byte, bool) {
	k, ok := s.str()
	return k, ok && s.byte(':')
}

// num reads a number in JSON's grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *usageScanner) num() ([]byte, bool) {
	s.ws()
	start := s.i
	digits := func() int {
		n := 0
		for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
			s.i++
			n++
		}
		return n
	}
	if s.peek() == '-' {
		s.i++
	}
	if s.peek() == '0' {
		s.i++
	} else if digits() == 0 {
		return nil, false
	}
	if s.peek() == '.' {
		s.i++
		if digits() == 0 {
			return nil, false
		}
	}
	if c := s.peek(); c == 'e' || c == 'E' {
		s.i++
		if c := s.peek(); c == '+' || c == '-' {
			s.i++
		}
		if digits() == 0 {
			return nil, false
		}
	}
	return s.b[start:s.i], true
}

// report reads one report object into a UsageReport whose values v holds.
func (s *usageScanner) report(v *reportValues) (UsageReport, bool) {
	var r UsageReport
	if !s.byte('{') {
		return r, false
	}
	s.ws()
	if s.peek() == '}' {
		s.i++
		return r, true
	}
	var seen uint8 // bits of the members read: a repeat is DecodeJSON's to refuse
	for {
		k, ok := s.key()
		if !ok {
			return r, false
		}
		bit := uint8(0)
		switch string(k) {
		case "keysetId":
			bit = 1
		case "subscribeKey":
			bit = 2
		case "date":
			bit = 4
		case "metric":
			bit = 8
		case "value":
			bit = 16
		}
		if bit == 0 || seen&bit != 0 {
			return r, false
		}
		seen |= bit
		s.ws()
		if s.peek() == 'n' {
			// null leaves a field out, as encoding/json does.
			if len(s.b)-s.i < 4 || string(s.b[s.i:s.i+4]) != "null" {
				return r, false
			}
			s.i += 4
		} else {
			if !s.member(k, &r, v) {
				return r, false
			}
		}
		s.ws()
		switch s.peek() {
		case ',':
			s.i++
		case '}':
			s.i++
			return r, true
		default:
			return r, false
		}
	}
}

// member reads the value of member k (not null) into r and v.
func (s *usageScanner) member(k []byte, r *UsageReport, v *reportValues) bool {
	switch string(k) {
	case "keysetId":
		s.ws()
		start := s.i
		var ok bool
		if s.peek() == '"' {
			_, ok = s.str()
		} else {
			_, ok = s.num()
		}
		if !ok || v.id.UnmarshalJSON(s.b[start:s.i]) != nil {
			return false
		}
		r.KeysetID = &v.id
	case "value":
		n, ok := s.num()
		if !ok {
			return false
		}
		f, err := strconv.ParseFloat(string(n), 64)
		if err != nil {
			return false
		}
		v.value = f
		r.Value = &v.value
	case "subscribeKey":
		b, ok := s.str()
		if !ok {
			return false
		}
		v.sub = string(b)
		r.SubscribeKey = &v.sub
	case "date":
		b, ok := s.str()
		if !ok {
			return false
		}
		v.date = string(b)
		r.Date = &v.date
	case "metric":
		b, ok := s.str()
		if !ok {
			return false
		}
		// A known metric shares its name's string.
		if c, ok := metricCodes[string(b)]; ok {
			v.mt = usageMetrics[c]
		} else {
			v.mt = string(b)
		}
		r.Metric = &v.mt
	default:
		return false
	}
	return true
}
