package settings

import (
	"errors"
	"flag"
	"io"
	"strings"
	"testing"
	"time"
)

// example is a command with one setting of each type.
type example struct {
	Name    string
	Site    string
	Workers int
	Max     int64
	Balance float64
	Every   time.Duration
	Retry   []time.Duration
	Loud    bool
}

func (e *example) table() *Table {
	return New("tool run",
		Setting{Env: "TOOL_NAME", Flag: "name", Help: "who to greet", Value: String(&e.Name, "world")},
		Setting{Env: "TOOL_SITE", Flag: "site", Help: "where to post", Value: URL(&e.Site, "")},
		Setting{Env: "TOOL_WORKERS", Flag: "workers", Help: "jobs at once", Value: Int(&e.Workers, 2)},
		Setting{Env: "TOOL_MAX_BYTES", Flag: "max-bytes", Help: "largest upload", Value: Bytes(&e.Max, 2<<30)},
		Setting{Env: "TOOL_BALANCE", Flag: "balance", Help: "seconds left", Value: Float(&e.Balance, 0)},
		Setting{Env: "TOOL_EVERY", Flag: "every", Help: "time between polls", Value: Duration(&e.Every, 10*time.Minute)},
		Setting{Env: "TOOL_RETRY", Flag: "retry", Help: "delays between tries", Value: Durations(&e.Retry, 5*time.Second, 2*time.Hour)},
		Setting{Env: "TOOL_LOUD", Flag: "loud", Help: "shout", Value: Bool(&e.Loud, false)},
	)
}

// parse builds the example's table and parses args and env into it.
func parse(args []string, env map[string]string) (example, error) {
	var e example
	err := e.table().Parse(args, func(k string) string { return env[k] }, io.Discard)
	return e, err
}

func TestParse(t *testing.T) {
	t.Run("Defaults", func(t *testing.T) {
		e, err := parse(nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := e.Name, "world"; got != want {
			t.Errorf("name %q, want %q", got, want)
		}
		if got, want := e.Workers, 2; got != want {
			t.Errorf("workers %d, want %d", got, want)
		}
		if got, want := e.Max, int64(2<<30); got != want {
			t.Errorf("max %d, want %d", got, want)
		}
		if got, want := e.Every, 10*time.Minute; got != want {
			t.Errorf("every %s, want %s", got, want)
		}
		if got, want := (*durationsValue)(&e.Retry).String(), "5s,2h"; got != want {
			t.Errorf("retry %s, want %s", got, want)
		}
	})
	t.Run("EnvThenFlags", func(t *testing.T) {
		e, err := parse([]string{"-workers", "8", "-retry=1s", "--site", "https://flag.example"}, map[string]string{
			"TOOL_NAME": "env", "TOOL_WORKERS": "4", "TOOL_SITE": "http://env.example", "TOOL_BALANCE": "36.5",
			"TOOL_MAX_BYTES": "1000", "TOOL_EVERY": "90s", "TOOL_RETRY": "1m, 2m",
		})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := e.Name, "env"; got != want {
			t.Errorf("name %q, want %q from the environment", got, want)
		}
		if got, want := e.Workers, 8; got != want {
			t.Errorf("workers %d, want %d from the flag", got, want)
		}
		if got, want := e.Site, "https://flag.example"; got != want {
			t.Errorf("site %q, want %q from the flag", got, want)
		}
		if got, want := e.Balance, 36.5; got != want {
			t.Errorf("balance %v, want %v", got, want)
		}
		if got, want := e.Max, int64(1000); got != want {
			t.Errorf("max %d, want %d", got, want)
		}
		if got, want := e.Every, 90*time.Second; got != want {
			t.Errorf("every %s, want %s", got, want)
		}
		if got, want := len(e.Retry), 1; got != want || e.Retry[0] != time.Second {
			t.Errorf("retry %v, want [1s] from the flag", e.Retry)
		}
	})
	t.Run("Bool", func(t *testing.T) {
		for _, tc := range []struct {
			args []string
			env  map[string]string
			want bool
		}{
			{nil, map[string]string{"TOOL_LOUD": "1"}, true},
			{[]string{"-loud"}, nil, true},
			{[]string{"-loud=false"}, map[string]string{"TOOL_LOUD": "true"}, false},
		} {
			e, err := parse(tc.args, tc.env)
			if err != nil {
				t.Fatal(err)
			}
			if e.Loud != tc.want {
				t.Errorf("args %q env %v: loud %v, want %v", tc.args, tc.env, e.Loud, tc.want)
			}
		}
	})
	t.Run("EmptyFlagClearsURL", func(t *testing.T) {
		e, err := parse([]string{"-site="}, map[string]string{"TOOL_SITE": "https://env.example"})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := e.Site, ""; got != want {
			t.Errorf("site %q, want it cleared", got)
		}
	})
	for name, tc := range map[string]struct {
		args []string
		env  map[string]string
		want string
	}{
		"BadDuration":  {nil, map[string]string{"TOOL_EVERY": "abc"}, `TOOL_EVERY: "abc" is not a duration like 10m`},
		"BadDurations": {nil, map[string]string{"TOOL_RETRY": "5s,soon"}, `TOOL_RETRY: "5s,soon" is not a list of durations like 5s,5m,30m`},
		"BadInt":       {nil, map[string]string{"TOOL_WORKERS": "many"}, `TOOL_WORKERS: "many" is not a whole number like 4`},
		"BadBytes":     {nil, map[string]string{"TOOL_MAX_BYTES": "2GB"}, `TOOL_MAX_BYTES: "2GB" is not a number of bytes like 1048576`},
		"BadFloat":     {nil, map[string]string{"TOOL_BALANCE": "lots"}, `TOOL_BALANCE: "lots" is not a number like 3600`},
		"BadBool":      {nil, map[string]string{"TOOL_LOUD": "loudly"}, `TOOL_LOUD: "loudly" is not a yes or no like 1 or 0`},
		"NaNFloat":     {nil, map[string]string{"TOOL_BALANCE": "NaN"}, `TOOL_BALANCE: "NaN" is not a number like 3600`},
		"BadURL":       {nil, map[string]string{"TOOL_SITE": "ftp://x"}, `TOOL_SITE: "ftp://x" is not an http(s) URL like https://example.com`},
		"URLNoHost":    {nil, map[string]string{"TOOL_SITE": "https://"}, `TOOL_SITE: "https://" is not an http(s) URL`},
		"BadFlag":      {[]string{"-every", "soon"}, nil, `-every: "soon" is not a duration like 10m`},
		"UnknownFlag":  {[]string{"-colour", "red"}, nil, "flag provided but not defined: -colour"},
		"StrayArg":     {[]string{"-workers", "3", "bogus"}, nil, `unexpected argument "bogus"`},
		"AfterDashes":  {[]string{"--", "-workers"}, nil, `unexpected argument "-workers"`},
		"EnvAndFlag": {[]string{"-workers", "x"}, map[string]string{"TOOL_EVERY": "abc"},
			"TOOL_EVERY: \"abc\" is not a duration like 10m\n-workers: \"x\" is not a whole number like 4"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := parse(tc.args, tc.env)
			var usage *UsageError
			if !errors.As(err, &usage) {
				t.Fatalf("err = %v (%T), want a *UsageError", err, err)
			}
			if got, want := usage.Command, "tool run"; got != want {
				t.Errorf("command %q, want %q", got, want)
			}
			if got := err.Error(); !strings.HasPrefix(got, tc.want) {
				t.Errorf("err = %q, want it to start %q", got, tc.want)
			}
		})
	}
}

func TestUsage(t *testing.T) {
	var e example
	table := e.table()
	var out strings.Builder
	err := table.Parse([]string{"-workers", "3", "-h"}, func(string) string { return "" }, &out)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("err = %v, want flag.ErrHelp", err)
	}
	usage := out.String()
	for _, want := range []string{
		"Usage: tool run [flags]\n",
		"  -name string\n    \twho to greet (TOOL_NAME, default world)\n",
		"  -site url\n    \twhere to post (TOOL_SITE)\n",
		"  -workers int\n    \tjobs at once (TOOL_WORKERS, default 2)\n",
		"  -max-bytes bytes\n    \tlargest upload (TOOL_MAX_BYTES, default 2147483648)\n",
		"  -balance number\n    \tseconds left (TOOL_BALANCE, default 0)\n",
		"  -every duration\n    \ttime between polls (TOOL_EVERY, default 10m)\n",
		"  -retry durations\n    \tdelays between tries (TOOL_RETRY, default 5s,2h)\n",
	} {
		if !strings.Contains(usage, want) {
			t.Errorf("usage lacks %q:\n%s", want, usage)
		}
	}
}

func TestFormatDuration(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{0, "0s"},
		{1500 * time.Millisecond, "1.5s"},
		{90 * time.Second, "1m30s"},
		{30 * time.Minute, "30m"},
		{2 * time.Hour, "2h"},
		{90 * time.Minute, "1h30m"},
		{time.Hour + time.Second, "1h0m1s"},
	} {
		if got, want := formatDuration(tc.d), tc.want; got != want {
			t.Errorf("formatDuration(%s) = %q, want %q", tc.d, got, want)
		}
	}
}

func TestOperands(t *testing.T) {
	table := func() (*Table, *int) {
		var n int
		tb := New("tool copy", Setting{Env: "TOOL_N", Flag: "n", Help: "how many", Value: Int(&n, 1)})
		tb.Operands = []string{"FROM", "TO"}
		return tb, &n
	}
	t.Run("OK", func(t *testing.T) {
		tb, n := table()
		if err := tb.Parse([]string{"-n", "3", "a", "b"}, func(string) string { return "" }, io.Discard); err != nil {
			t.Fatal(err)
		}
		if got, want := strings.Join(tb.Args(), " "), "a b"; got != want || *n != 3 {
			t.Fatalf("args %q and n %d, want %q and 3", got, *n, want)
		}
	})
	for name, tc := range map[string]struct {
		args []string
		want string
	}{
		"Missing":   {[]string{"-n", "3"}, "missing FROM TO"},
		"MissingTo": {[]string{"a"}, "missing TO"},
		"Extra":     {[]string{"a", "b", "c"}, `unexpected argument "c"`},
	} {
		t.Run(name, func(t *testing.T) {
			tb, _ := table()
			err := tb.Parse(tc.args, func(string) string { return "" }, io.Discard)
			var usage *UsageError
			if !errors.As(err, &usage) || err.Error() != tc.want {
				t.Fatalf("err = %v, want the usage error %q", err, tc.want)
			}
		})
	}
	t.Run("Usage", func(t *testing.T) {
		tb, _ := table()
		var out strings.Builder
		tb.WriteUsage(&out)
		if got, want := out.String(), "Usage: tool copy [flags] FROM TO\n"; !strings.HasPrefix(got, want) {
			t.Fatalf("usage %q, want it to start %q", got, want)
		}
	})
}
