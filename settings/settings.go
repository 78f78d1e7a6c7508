// Package settings reads a command's settings from the environment and then
// from its flags, so a flag wins. Each setting is declared once, as a row of
// a Table: its environment variable, its flag, its help and its typed value,
// which holds the default.
package settings

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// Setting is one row of a Table.
type Setting struct {
	Env   string // environment variable: "SCRIBE_ADDR"
	Flag  string // flag name without the dash: "addr"
	Help  string // what it is for, one line
	Value Value  // the typed variable, set to its default: String(&c.Addr, "127.0.0.1:8080")
}

// Value is a setting's typed variable, made by String, Int, Bytes, Float,
// Bool, Duration, Durations or URL.
type Value interface {
	// String is the value as a setting would spell it.
	String() string
	// Set parses text into the variable; its error quotes the text and
	// shows an example of what is expected.
	Set(text string) error
	// kind is the value's type as the usage names it: "duration".
	kind() string
}

// Table is one command's settings.
type Table struct {
	// Operands names the arguments the command takes after its flags
	// ("FILE"); Parse wants exactly these, and Args returns them.
	Operands []string

	command  string
	settings []Setting
	defaults []string
	args     []string
}

// New returns the table of command ("scribe serve"). Call it while the
// values still hold their defaults, as the usage shows what they hold now.
func New(command string, settings ...Setting) *Table {
	t := &Table{command: command, settings: settings}
	for _, s := range settings {
		t.defaults = append(t.defaults, s.Value.String())
	}
	return t
}

// Parse sets each setting from its environment variable when getenv reports
// it non-empty, then from its flag in args. -h or -help writes the usage to
// stdout and returns flag.ErrHelp. A value that does not parse, an unknown
// flag or a stray argument is a *UsageError that names each culprit.
func (t *Table) Parse(args []string, getenv func(string) string, stdout io.Writer) error {
	var errs []error
	for _, s := range t.settings {
		if text := getenv(s.Env); text != "" {
			if err := s.Value.Set(text); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", s.Env, err))
			}
		}
	}

	fs := flag.NewFlagSet(t.command, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are returned, and -h prints our usage
	var flagErr error
	for _, s := range t.settings {
		set := func(text string) error {
			if err := s.Value.Set(text); err != nil {
				flagErr = fmt.Errorf("-%s: %w", s.Flag, err)
				return err
			}
			return nil
		}
		if _, ok := s.Value.(*boolValue); ok {
			fs.BoolFunc(s.Flag, s.Help, set) // "-flag" alone means true
		} else {
			fs.Func(s.Flag, s.Help, set)
		}
	}
	switch err := fs.Parse(args); {
	case errors.Is(err, flag.ErrHelp):
		t.WriteUsage(stdout)
		return flag.ErrHelp
	case flagErr != nil:
		errs = append(errs, flagErr) // flag's own wording would repeat the text
	case err != nil:
		errs = append(errs, err)
	case fs.NArg() > len(t.Operands):
		errs = append(errs, fmt.Errorf("unexpected argument %q", fs.Arg(len(t.Operands))))
	case fs.NArg() < len(t.Operands):
		errs = append(errs, fmt.Errorf("missing %s", strings.Join(t.Operands[fs.NArg():], " ")))
	}
	t.args = fs.Args()
	if len(errs) > 0 {
		return &UsageError{Command: t.command, Err: errors.Join(errs...)}
	}
	return nil
}

// Args returns the operands Parse read, one for each of Operands.
func (t *Table) Args() []string { return t.args }

// WriteUsage writes how to call the command and every setting with its
// flag, type, help, environment variable and default.
func (t *Table) WriteUsage(w io.Writer) {
	fmt.Fprintf(w, "Usage: %s\n\nEach setting is read from its environment variable, then from its flag, which wins.\n\n", strings.Join(append([]string{t.command, "[flags]"}, t.Operands...), " "))
	for i, s := range t.settings {
		fmt.Fprintf(w, "  -%s %s\n    \t%s (%s", s.Flag, s.Value.kind(), s.Help, s.Env)
		if t.defaults[i] != "" {
			fmt.Fprintf(w, ", default %s", t.defaults[i])
		}
		fmt.Fprintln(w, ")")
	}
}

// UsageError is a mistake in how a command was called: a setting that does
// not parse, an unknown flag or command, a stray argument. Commands exit
// with status 2 for it, as the flag package does.
type UsageError struct {
	Command string // the command whose -h explains it: "scribe serve"
	Err     error
}

func (e *UsageError) Error() string { return e.Err.Error() }

// Unwrap returns the mistake itself.
func (e *UsageError) Unwrap() error { return e.Err }
