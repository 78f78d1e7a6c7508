package settings

import (
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// String is a setting of any text; it sets *p to def.
func String(p *string, def string) Value {
	*p = def
	return (*stringValue)(p)
}

type stringValue string

func (v *stringValue) String() string        { return string(*v) }
func (v *stringValue) Set(text string) error { *v = stringValue(text); return nil }
func (v *stringValue) kind() string          { return "string" }

// URL is a setting of an absolute http or https URL, or empty; it sets *p
// to def.
func URL(p *string, def string) Value {
	*p = def
	return (*urlValue)(p)
}

type urlValue string

func (v *urlValue) String() string { return string(*v) }
func (v *urlValue) kind() string   { return "url" }

func (v *urlValue) Set(text string) error {
	if text != "" {
		u, err := url.Parse(text)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("%q is not an http(s) URL like https://example.com", text)
		}
	}
	*v = urlValue(text)
	return nil
}

// Int is a setting of a whole number; it sets *p to def.
func Int(p *int, def int) Value {
	*p = def
	return (*intValue)(p)
}

type intValue int

func (v *intValue) String() string { return strconv.Itoa(int(*v)) }
func (v *intValue) kind() string   { return "int" }

func (v *intValue) Set(text string) error {
	n, err := strconv.Atoi(text)
	if err != nil {
		return fmt.Errorf("%q is not a whole number like 4", text)
	}
	*v = intValue(n)
	return nil
}

// Bytes is a setting of a number of bytes; it sets *p to def.
func Bytes(p *int64, def int64) Value {
	*p = def
	return (*bytesValue)(p)
}

type bytesValue int64

func (v *bytesValue) String() string { return strconv.FormatInt(int64(*v), 10) }
func (v *bytesValue) kind() string   { return "bytes" }

func (v *bytesValue) Set(text string) error {
	n, err := strconv.ParseInt(text, 10, 64)
	if err != nil {
		return fmt.Errorf("%q is not a number of bytes like 1048576", text)
	}
	*v = bytesValue(n)
	return nil
}

// Float is a setting of a finite decimal number; it sets *p to def.
func Float(p *float64, def float64) Value {
	*p = def
	return (*floatValue)(p)
}

type floatValue float64

func (v *floatValue) String() string { return strconv.FormatFloat(float64(*v), 'g', -1, 64) }
func (v *floatValue) kind() string   { return "number" }

func (v *floatValue) Set(text string) error {
	f, err := strconv.ParseFloat(text, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return fmt.Errorf("%q is not a number like 3600", text)
	}
	*v = floatValue(f)
	return nil
}

// Bool is a yes-or-no setting (1, true, 0, false…); its flag may stand
// alone for true. It sets *p to def.
func Bool(p *bool, def bool) Value {
	*p = def
	return (*boolValue)(p)
}

type boolValue bool

func (v *boolValue) String() string { return strconv.FormatBool(bool(*v)) }
func (v *boolValue) kind() string   { return "bool" }

func (v *boolValue) Set(text string) error {
	b, err := strconv.ParseBool(text)
	if err != nil {
		return fmt.Errorf("%q is not a yes or no like 1 or 0", text)
	}
	*v = boolValue(b)
	return nil
}

// Duration is a setting of a time.Duration; it sets *p to def.
func Duration(p *time.Duration, def time.Duration) Value {
	*p = def
	return (*durationValue)(p)
}

type durationValue time.Duration

func (v *durationValue) String() string { return formatDuration(time.Duration(*v)) }
func (v *durationValue) kind() string   { return "duration" }

func (v *durationValue) Set(text string) error {
	d, err := time.ParseDuration(text)
	if err != nil {
		return fmt.Errorf("%q is not a duration like 10m", text)
	}
	*v = durationValue(d)
	return nil
}

// Durations is a setting of a comma-separated list of durations ("5s,5m");
// it sets *p to def.
func Durations(p *[]time.Duration, def ...time.Duration) Value {
	*p = def
	return (*durationsValue)(p)
}

type durationsValue []time.Duration

func (v *durationsValue) kind() string { return "durations" }

func (v *durationsValue) String() string {
	parts := make([]string, len(*v))
	for i, d := range *v {
		parts[i] = formatDuration(d)
	}
	return strings.Join(parts, ",")
}

func (v *durationsValue) Set(text string) error {
	var list []time.Duration
	for part := range strings.SplitSeq(text, ",") {
		if part = strings.TrimSpace(part); part == "" {
			continue
		}
		d, err := time.ParseDuration(part)
		if err != nil {
			return fmt.Errorf("%q is not a list of durations like 5s,5m,30m", text)
		}
		list = append(list, d)
	}
	*v = list
	return nil
}

// formatDuration spells d as a person would: 10m rather than 10m0s.
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
