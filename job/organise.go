package job

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// Limits on what an owner may name and tag a job.
const (
	MaxNameLen = 200 // characters in a job's name
	MaxTagLen  = 32  // characters in one tag
	MaxTags    = 20  // tags on one job
)

// Organise is an owner's change to a job's name and tags; a nil field
// keeps what the job has.
type Organise struct {
	Name   *string
	Tags   *[]string // the whole new set
	Add    []string  // tags to add
	Remove []string  // tags to take off
}

// CleanName is name as stored: on one line, trimmed, not empty and at
// most MaxNameLen characters.
func CleanName(name string) (string, error) {
	name = OneLine(name)
	switch n := utf8.RuneCountInString(name); {
	case n == 0:
		return "", Errorf(CodeInvalid, "A name cannot be empty.")
	case n > MaxNameLen:
		return "", Errorf(CodeInvalid, fmt.Sprintf("A name can be at most %d characters long; this one has %d.", MaxNameLen, n))
	}
	return name, nil
}

// CleanTag is tag as stored: lower case, on one line, trimmed, not empty,
// at most MaxTagLen characters and without commas (forms list tags with
// them).
func CleanTag(tag string) (string, error) {
	tag = strings.ToLower(OneLine(tag))
	switch n := utf8.RuneCountInString(tag); {
	case n == 0:
		return "", Errorf(CodeInvalid, "A tag cannot be empty.")
	case n > MaxTagLen:
		return "", Errorf(CodeInvalid, fmt.Sprintf("A tag can be at most %d characters long; %q has %d.", MaxTagLen, tag, n))
	case strings.Contains(tag, ","):
		return "", Errorf(CodeInvalid, fmt.Sprintf("A tag cannot contain a comma: %q.", tag))
	}
	return tag, nil
}

// Clean checks and normalises every name and tag of o.
func (o Organise) Clean() (Organise, error) {
	var err error
	if o.Name != nil {
		name, err := CleanName(*o.Name)
		if err != nil {
			return o, err
		}
		o.Name = &name
	}
	if o.Tags != nil {
		tags, err := cleanTags(*o.Tags)
		if err != nil {
			return o, err
		}
		o.Tags = &tags
	}
	if o.Add, err = cleanTags(o.Add); err != nil {
		return o, err
	}
	if o.Remove, err = cleanTags(o.Remove); err != nil {
		return o, err
	}
	return o, nil
}

// Apply is the tags a job with tags has after o, sorted; an error when
// they would be more than MaxTags.
func (o Organise) Apply(tags []string) ([]string, error) {
	out := slices.Clone(tags)
	if o.Tags != nil {
		out = slices.Clone(*o.Tags)
	}
	out = append(out, o.Add...)
	out = slices.DeleteFunc(out, func(t string) bool { return slices.Contains(o.Remove, t) })
	slices.Sort(out)
	out = slices.Compact(out)
	if len(out) > MaxTags {
		return nil, Errorf(CodeInvalid, fmt.Sprintf("A job can have at most %d tags.", MaxTags))
	}
	return out, nil
}

func cleanTags(tags []string) ([]string, error) {
	if len(tags) > MaxTags {
		return nil, Errorf(CodeInvalid, fmt.Sprintf("A job can have at most %d tags.", MaxTags))
	}
	out := make([]string, 0, len(tags))
	for _, t := range tags {
		t, err := CleanTag(t)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}
