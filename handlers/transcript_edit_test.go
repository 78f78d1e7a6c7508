package handlers

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"golang.org/x/crypto/bcrypt"

	"scribe/job"
)

// editorResult is a finished transcript of three segments, two speakers,
// with word timings.
func editorResult() *job.Result {
	return &job.Result{Text: "hello world good morning hello again", Language: "en", Duration: 9, Segments: []job.Segment{
		{Start: 0, End: 2, Text: "hello world", Speaker: "A", Words: []job.Word{
			{Word: "hello", Start: 0, End: 0.8, Confidence: 0.9}, {Word: "world", Start: 1, End: 2, Confidence: 0.9}}},
		{Start: 3, End: 5, Text: "good morning", Speaker: "B", Words: []job.Word{
			{Word: "good", Start: 3, End: 3.8, Confidence: 0.9}, {Word: "morning", Start: 4, End: 5, Confidence: 0.9}}},
		{Start: 6, End: 8, Text: "hello again", Speaker: "A", Words: []job.Word{
			{Word: "hello", Start: 6, End: 6.8, Confidence: 0.9}, {Word: "again", Start: 7, End: 8, Confidence: 0.9}}},
	}}
}

// editor is an app with one user's completed job.
type editor struct {
	routes http.Handler
	h      *Handler
	owner  *http.Cookie
	jobID  string
}

func newEditor(t *testing.T) *editor {
	t.Helper()
	ctx := context.Background()
	h := newTestHandler(t, unreachable())
	e := &editor{routes: h.Routes(), h: h, jobID: "j_edit"}
	e.owner = logIn(t, h, e.routes, "ada@example.com")
	u, err := h.Store.UserByEmail(ctx, "ada@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Store.CreateJob(ctx, job.Job{ID: e.jobID, UserID: u.ID, Filename: "talk.wav", AudioPath: "/x"}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Store.MarkSubmitted(ctx, e.jobID, "tr_edit"); err != nil {
		t.Fatal(err)
	}
	_, _, err = h.Store.ApplyUpdate(ctx, job.Update{UpstreamID: "tr_edit", Status: job.StatusCompleted, Result: editorResult(), Via: job.ViaWebhook})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// logIn creates an account whose password hash is cheap to check (sign-up
// hashes at full cost, seconds under -race) and returns its session cookie.
func logIn(t *testing.T, h *Handler, routes http.Handler, email string) *http.Cookie {
	t.Helper()
	hash, err := bcrypt.GenerateFromPassword([]byte("correct horse battery"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Store.CreateUser(context.Background(), email, hash); err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("POST", "/login", strings.NewReader(url.Values{"email": {email}, "password": {"correct horse battery"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	routes.ServeHTTP(rec, req)
	for _, c := range rec.Result().Cookies() {
		if c.Name == sessionName && rec.Code == http.StatusSeeOther {
			return c
		}
	}
	t.Fatalf("login: %d %s", rec.Code, rec.Body)
	return nil
}

// do sends a request as the user of cookie; header holds name, value pairs.
func (e *editor) do(t *testing.T, cookie *http.Cookie, method, path, body string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, r)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	if cookie != nil {
		req.AddCookie(cookie)
	}
	rec := httptest.NewRecorder()
	e.routes.ServeHTTP(rec, req)
	return rec
}

// transcript downloads the JSON transcript: its body and ETag.
func (e *editor) transcript(t *testing.T) (map[string]any, string) {
	t.Helper()
	rec := e.do(t, e.owner, "GET", "/jobs/"+e.jobID+"/transcript.json", "")
	if rec.Code != http.StatusOK {
		t.Fatalf("GET transcript.json: %d %s", rec.Code, rec.Body)
	}
	var body map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	return body, rec.Header().Get("ETag")
}

func (e *editor) text(t *testing.T) string {
	t.Helper()
	rec := e.do(t, e.owner, "GET", "/jobs/"+e.jobID+"/transcript.txt", "")
	if rec.Code != http.StatusOK {
		t.Fatalf("GET transcript.txt: %d %s", rec.Code, rec.Body)
	}
	return rec.Body.String()
}

func (e *editor) put(t *testing.T, body any, ifMatch string) *httptest.ResponseRecorder {
	t.Helper()
	raw, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	header := []string{"Content-Type", "application/json"}
	if ifMatch != "" {
		header = append(header, "If-Match", ifMatch)
	}
	return e.do(t, e.owner, "PUT", "/jobs/"+e.jobID+"/transcript.json", string(raw), header...)
}

type revisionList struct {
	Revisions []map[string]any `json:"revisions"`
}

func (e *editor) revisions(t *testing.T) revisionList {
	t.Helper()
	rec := e.do(t, e.owner, "GET", "/jobs/"+e.jobID+"/revisions", "", "Accept", "application/json")
	if rec.Code != http.StatusOK {
		t.Fatalf("GET revisions: %d %s", rec.Code, rec.Body)
	}
	var list revisionList
	if err := json.Unmarshal(rec.Body.Bytes(), &list); err != nil {
		t.Fatal(err)
	}
	return list
}

func segmentsOf(t *testing.T, body map[string]any) []map[string]any {
	t.Helper()
	raw, _ := body["segments"].([]any)
	out := make([]map[string]any, len(raw))
	for i, s := range raw {
		out[i], _ = s.(map[string]any)
	}
	return out
}

func TestDownloadsNameRevision(t *testing.T) {
	e := newEditor(t)
	_, etag := e.transcript(t)
	if !strings.HasPrefix(etag, `"rev-`) || !strings.HasSuffix(etag, `"`) {
		t.Fatalf("ETag %q, want a strong quoted revision tag", etag)
	}
	for _, ext := range []string{"txt", "srt", "vtt", "json"} {
		rec := e.do(t, e.owner, "GET", "/jobs/"+e.jobID+"/transcript."+ext, "")
		if got := rec.Header().Get("ETag"); rec.Code != http.StatusOK || got != etag {
			t.Errorf("%s: %d, ETag %q, want 200 and %q", ext, rec.Code, got, etag)
		}
		if got, want := rec.Header().Get("Cache-Control"), "no-store"; got != want {
			t.Errorf("%s: Cache-Control %q, want %q", ext, got, want)
		}
	}
}

func TestEditTranscript(t *testing.T) {
	e := newEditor(t)
	body, etag := e.transcript(t)

	t.Run("MissingIfMatch", func(t *testing.T) {
		rec := e.put(t, body, "")
		if rec.Code != http.StatusPreconditionRequired || !strings.Contains(rec.Body.String(), "If-Match") {
			t.Fatalf("%d %s, want 428 naming If-Match", rec.Code, rec.Body)
		}
	})
	t.Run("Malformed", func(t *testing.T) {
		for name, raw := range map[string]string{
			"Syntax":          `{"segments": [`,
			"TrailingData":    `{"segments": []} {}`,
			"WrongType":       `{"segments": [{"start": "soon", "end": 1, "text": "x"}]}`,
			"NoSegments":      `{"text": "only text"}`,
			"EndBeforeStart":  `{"segments": [{"start": 2, "end": 1, "text": "x"}]}`,
			"SegmentsOverlap": `{"segments": [{"start": 0, "end": 2, "text": "a"}, {"start": 1, "end": 3, "text": "b"}]}`,
			"WordOutside":     `{"segments": [{"start": 0, "end": 2, "text": "a", "words": [{"word": "a", "start": 2.5, "end": 3}]}]}`,
		} {
			rec := e.do(t, e.owner, "PUT", "/jobs/"+e.jobID+"/transcript.json", raw, "If-Match", etag)
			if rec.Code != http.StatusBadRequest {
				t.Errorf("%s: %d %s, want 400", name, rec.Code, rec.Body)
			}
			if got := rec.Header().Get("Content-Type"); got != "application/json" {
				t.Errorf("%s: error as %q, want JSON", name, got)
			}
		}
	})
	t.Run("TooLarge", func(t *testing.T) {
		raw := `{"segments": []` + strings.Repeat(" ", maxTranscriptBytes) + `}`
		rec := e.do(t, e.owner, "PUT", "/jobs/"+e.jobID+"/transcript.json", raw, "If-Match", etag)
		if rec.Code != http.StatusRequestEntityTooLarge {
			t.Fatalf("%d %s, want 413", rec.Code, rec.Body)
		}
	})
	if _, now := e.transcript(t); now != etag || len(e.revisions(t).Revisions) != 1 {
		t.Fatalf("refused saves changed the transcript: ETag %s→%s", etag, now)
	}

	var saved string
	t.Run("OK", func(t *testing.T) {
		// The download's shape, with metadata the JSON download may carry.
		body["job"], body["filename"], body["engine"] = map[string]any{"id": e.jobID}, "talk.wav", "test"
		segmentsOf(t, body)[1]["text"] = "good evening"
		rec := e.put(t, body, etag)
		if rec.Code != http.StatusOK {
			t.Fatalf("%d %s", rec.Code, rec.Body)
		}
		saved = rec.Header().Get("ETag")
		if saved == "" || saved == etag {
			t.Fatalf("new ETag %q after %q", saved, etag)
		}
		if got, want := e.text(t), "hello world\ngood evening\nhello again\n"; got != want {
			t.Fatalf("text download %q, want %q", got, want)
		}
		after, now := e.transcript(t)
		if now != saved {
			t.Fatalf("download ETag %s, want the saved %s", now, saved)
		}
		words := segmentsOf(t, after)[1]["words"].([]any)
		good := words[0].(map[string]any)
		if good["word"] != "good" || good["start"] != 3.0 || good["end"] != 3.8 {
			t.Fatalf("unchanged word lost its timing: %v", good)
		}
		if got := after["text"]; got != "hello world good evening hello again" {
			t.Fatalf("result text %q, not recomputed from the segments", got)
		}
	})
	t.Run("Stale", func(t *testing.T) {
		segmentsOf(t, body)[0]["text"] = "goodbye world"
		rec := e.put(t, body, etag)
		if rec.Code != http.StatusPreconditionFailed {
			t.Fatalf("%d %s, want 412", rec.Code, rec.Body)
		}
		var got struct {
			Error   string `json:"error"`
			Current struct {
				ETag       string     `json:"etag"`
				Transcript job.Result `json:"transcript"`
			} `json:"current"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
			t.Fatal(err)
		}
		if got.Error == "" || got.Current.ETag != saved || got.Current.Transcript.Segments[1].Text != "good evening" {
			t.Fatalf("412 body %+v, want an error and the current version %s", got, saved)
		}
		if _, now := e.transcript(t); now != saved || strings.Contains(e.text(t), "goodbye") {
			t.Fatalf("a stale save changed the transcript (ETag %s)", now)
		}
	})
	t.Run("AnyRevision", func(t *testing.T) {
		rec := e.put(t, body, "*")
		if rec.Code != http.StatusOK || !strings.HasPrefix(e.text(t), "goodbye world\n") {
			t.Fatalf("If-Match *: %d %s", rec.Code, rec.Body)
		}
	})
	if got, want := len(e.revisions(t).Revisions), 3; got != want {
		t.Fatalf("%d revisions, want %d", got, want)
	}
	t.Run("NotReady", func(t *testing.T) {
		u, _ := e.h.Store.UserByEmail(context.Background(), "ada@example.com")
		if _, err := e.h.Store.CreateJob(context.Background(), job.Job{ID: "j_running", UserID: u.ID, Filename: "b.wav", AudioPath: "/y"}); err != nil {
			t.Fatal(err)
		}
		rec := e.do(t, e.owner, "PUT", "/jobs/j_running/transcript.json", `{"segments": []}`, "If-Match", "*")
		if rec.Code != http.StatusConflict {
			t.Fatalf("%d %s, want 409", rec.Code, rec.Body)
		}
	})
}

// TestEditTranscriptSplitMerge sends the PUTs the in-page editor makes to
// split a line at the end of a word and to merge two lines, each new line
// without words: the words that still match keep their timings.
func TestEditTranscriptSplitMerge(t *testing.T) {
	e := newEditor(t)
	type word struct {
		Word       string
		Start, End float64
	}
	wordsOf := func(t *testing.T, seg map[string]any) []word {
		t.Helper()
		raw, _ := json.Marshal(seg["words"])
		var ws []word
		if err := json.Unmarshal(raw, &ws); err != nil {
			t.Fatal(err)
		}
		return ws
	}
	save := func(t *testing.T, segments []map[string]any) []map[string]any {
		t.Helper()
		body, etag := e.transcript(t)
		body["segments"] = segments
		if rec := e.put(t, body, etag); rec.Code != http.StatusOK {
			t.Fatalf("%d %s", rec.Code, rec.Body)
		}
		after, _ := e.transcript(t)
		return segmentsOf(t, after)
	}

	t.Run("Split", func(t *testing.T) {
		body, _ := e.transcript(t)
		segs := segmentsOf(t, body)
		// "good morning" cut at the end of "good", as the editor times it.
		head := map[string]any{"start": 3.0, "end": 3.8, "text": "good", "speaker": "B"}
		tail := map[string]any{"start": 3.8, "end": 5.0, "text": "morning", "speaker": "B"}
		got := save(t, []map[string]any{segs[0], head, tail, segs[2]})
		if len(got) != 4 || e.text(t) != "hello world\ngood\nmorning\nhello again\n" {
			t.Fatalf("%d segments, text %q; want the second line split in two", len(got), e.text(t))
		}
		if ws := wordsOf(t, got[1]); !reflect.DeepEqual(ws, []word{{"good", 3, 3.8}}) {
			t.Errorf("first half's words %+v, want good at 3–3.8", ws)
		}
		if ws := wordsOf(t, got[2]); !reflect.DeepEqual(ws, []word{{"morning", 4, 5}}) {
			t.Errorf("second half's words %+v, want morning at 4–5", ws)
		}
	})
	t.Run("Merge", func(t *testing.T) {
		body, _ := e.transcript(t)
		segs := segmentsOf(t, body)
		// "morning" and "hello again" joined, with a word added.
		merged := map[string]any{"start": 3.8, "end": 8.0, "text": "morning hello there again", "speaker": "B"}
		got := save(t, []map[string]any{segs[0], segs[1], merged})
		if len(got) != 3 || e.text(t) != "hello world\ngood\nmorning hello there again\n" {
			t.Fatalf("%d segments, text %q; want the last two lines merged", len(got), e.text(t))
		}
		ws := wordsOf(t, got[2])
		if len(ws) != 4 || ws[0] != (word{"morning", 4, 5}) || ws[1] != (word{"hello", 6, 6.8}) || ws[3] != (word{"again", 7, 8}) {
			t.Fatalf("merged words %+v, want morning, hello and again at their old times", ws)
		}
		if ws[2].Word != "there" || ws[2].Start < 6.8 || ws[2].End > 7 {
			t.Errorf("added word %+v, want there between hello and again", ws[2])
		}
		if g := wordsOf(t, got[1]); !reflect.DeepEqual(g, []word{{"good", 3, 3.8}}) {
			t.Errorf("the line before the merge lost its words: %+v", g)
		}
	})
}

func TestSpeakerRename(t *testing.T) {
	e := newEditor(t)
	body, etag := e.transcript(t)
	for _, s := range segmentsOf(t, body) {
		if s["speaker"] == "A" {
			s["speaker"] = "Alice"
		}
	}
	if rec := e.put(t, body, etag); rec.Code != http.StatusOK {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	after, _ := e.transcript(t)
	var speakers []any
	for _, s := range segmentsOf(t, after) {
		speakers = append(speakers, s["speaker"])
	}
	if want := []any{"Alice", "B", "Alice"}; !reflect.DeepEqual(speakers, want) {
		t.Fatalf("speakers %v, want %v", speakers, want)
	}
	if got := e.revisions(t).Revisions[0]["source"]; got != "edit" {
		t.Fatalf("newest revision from %v, want edit", got)
	}
}

func TestRevisionsAndRestore(t *testing.T) {
	e := newEditor(t)
	body, etag := e.transcript(t)
	segmentsOf(t, body)[0]["text"] = "hello there"
	if rec := e.put(t, body, etag); rec.Code != http.StatusOK {
		t.Fatalf("edit: %d %s", rec.Code, rec.Body)
	}
	list := e.revisions(t).Revisions
	if len(list) != 2 || list[0]["source"] != "edit" || list[1]["source"] != "upstream" {
		t.Fatalf("revisions %v, want edit then upstream", list)
	}
	for _, r := range list {
		if len(r) != 3 || r["id"] == nil || r["created_at"] == nil {
			t.Fatalf("revision %v, want exactly id, created_at and source", r)
		}
	}
	first := int64(list[1]["id"].(float64))

	t.Run("JSON", func(t *testing.T) {
		rec := e.do(t, e.owner, "POST", "/jobs/"+e.jobID+"/revisions/"+jsonNumber(first)+"/restore", "", "Accept", "application/json")
		if rec.Code != http.StatusOK {
			t.Fatalf("%d %s", rec.Code, rec.Body)
		}
		var got map[string]any
		json.Unmarshal(rec.Body.Bytes(), &got)
		if got["source"] != "restore" {
			t.Fatalf("restore answered %v", got)
		}
		if got, want := e.text(t), "hello world\ngood morning\nhello again\n"; got != want {
			t.Fatalf("download after restore %q, want %q", got, want)
		}
		if _, now := e.transcript(t); now != rec.Header().Get("ETag") {
			t.Fatalf("download ETag %s, restore answered %s", now, rec.Header().Get("ETag"))
		}
		if list := e.revisions(t).Revisions; len(list) != 3 || list[0]["source"] != "restore" {
			t.Fatalf("revisions after restore %v", list)
		}
	})
	t.Run("Form", func(t *testing.T) {
		edit := int64(list[0]["id"].(float64))
		rec := e.do(t, e.owner, "POST", "/jobs/"+e.jobID+"/revisions/rev-"+jsonNumber(edit)+"/restore", "")
		if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/jobs/"+e.jobID {
			t.Fatalf("%d to %q, want 303 to the job page", rec.Code, rec.Header().Get("Location"))
		}
		if !strings.HasPrefix(e.text(t), "hello there\n") {
			t.Fatalf("download after restoring the edit: %q", e.text(t))
		}
	})
	t.Run("Unknown", func(t *testing.T) {
		for _, rev := range []string{"999", "x", "0"} {
			if rec := e.do(t, e.owner, "POST", "/jobs/"+e.jobID+"/revisions/"+rev+"/restore", ""); rec.Code != http.StatusNotFound {
				t.Errorf("restore %s: %d, want 404", rev, rec.Code)
			}
		}
	})
	t.Run("Page", func(t *testing.T) {
		rec := e.do(t, e.owner, "GET", "/jobs/"+e.jobID+"/revisions", "")
		doc, err := goquery.NewDocumentFromReader(rec.Body)
		if err != nil || rec.Code != http.StatusOK {
			t.Fatalf("%d, %v", rec.Code, err)
		}
		rows := doc.Find(`[data-testid="revision"]`)
		if got, want := rows.Length(), 4; got != want {
			t.Fatalf("%d rows, want %d", got, want)
		}
		if got := rows.First().Find(`[data-testid="revision-current"]`).Length(); got != 1 {
			t.Errorf("the newest revision is not marked current")
		}
		if got, want := doc.Find(`[data-testid="restore"]`).Length(), 3; got != want {
			t.Errorf("%d restore buttons, want one per earlier revision (%d)", got, want)
		}
		if got := rows.First().Find(`[data-testid="revision-author"]`).Text(); !strings.Contains(got, "ada@example.com") {
			t.Errorf("author %q, want the owner", got)
		}
		if got := rows.Last().Find(`[data-testid="revision-author"]`).Text(); !strings.Contains(got, "Transcription service") {
			t.Errorf("upstream author %q", got)
		}
	})
}

func jsonNumber(n int64) string { b, _ := json.Marshal(n); return string(b) }

// TestSegmentEditForm edits one segment through the pages alone, as a
// browser without JavaScript does, including a save from a stale form.
func TestSegmentEditForm(t *testing.T) {
	e := newEditor(t)
	path := "/jobs/" + e.jobID + "/segments/2/edit"
	form := func(t *testing.T) (text, etag string) {
		t.Helper()
		rec := e.do(t, e.owner, "GET", path, "")
		if rec.Code != http.StatusOK {
			t.Fatalf("edit page: %d %s", rec.Code, rec.Body)
		}
		doc, err := goquery.NewDocumentFromReader(rec.Body)
		if err != nil {
			t.Fatal(err)
		}
		f := doc.Find(`form[data-testid="segment-form"]`)
		if got, _ := f.Attr("action"); got != path {
			t.Fatalf("form posts to %q, want %q", got, path)
		}
		return f.Find("textarea[name=text]").Text(), f.Find("input[name=etag]").AttrOr("value", "")
	}
	post := func(t *testing.T, text, etag string) *httptest.ResponseRecorder {
		t.Helper()
		return e.do(t, e.owner, "POST", path, url.Values{"text": {text}, "etag": {etag}}.Encode(),
			"Content-Type", "application/x-www-form-urlencoded")
	}

	text, etag := form(t)
	if text != "good morning" || etag == "" {
		t.Fatalf("form holds %q with revision %q", text, etag)
	}
	rec := post(t, "good\nevening", etag)
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/jobs/"+e.jobID {
		t.Fatalf("save: %d to %q, want 303 to the job page: %s", rec.Code, rec.Header().Get("Location"), rec.Body)
	}
	page := e.do(t, e.owner, "GET", "/jobs/"+e.jobID, "")
	if !strings.Contains(page.Body.String(), "good evening") {
		t.Fatalf("job page does not show the edit")
	}

	t.Run("Stale", func(t *testing.T) {
		rec := post(t, "good night", etag)
		if rec.Code != http.StatusPreconditionFailed {
			t.Fatalf("%d, want 412", rec.Code)
		}
		doc, _ := goquery.NewDocumentFromReader(rec.Body)
		if got := doc.Find(`[data-testid="current-text"]`).Text(); got != "good evening" {
			t.Fatalf("current text shown %q", got)
		}
		if got := doc.Find("textarea[name=text]").Text(); got != "good night" {
			t.Fatalf("the user's text shown %q", got)
		}
		if strings.Contains(e.text(t), "night") {
			t.Fatalf("a stale form changed the transcript")
		}
		again := doc.Find("input[name=etag]").AttrOr("value", "")
		if again == etag {
			t.Fatalf("the stale page offers the stale revision %s again", etag)
		}
		if rec := post(t, "good night", again); rec.Code != http.StatusSeeOther {
			t.Fatalf("applying again: %d %s", rec.Code, rec.Body)
		}
		if got, want := e.text(t), "hello world\ngood night\nhello again\n"; got != want {
			t.Fatalf("download %q, want %q", got, want)
		}
	})
	t.Run("Invalid", func(t *testing.T) {
		_, etag := form(t)
		rec := post(t, strings.Repeat("a", job.MaxSegmentText+1), etag)
		if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "longer than") {
			t.Fatalf("%d, want 400 saying the text is too long", rec.Code)
		}
		if rec := post(t, "x", ""); rec.Code != http.StatusBadRequest {
			t.Fatalf("without a revision: %d, want 400", rec.Code)
		}
	})
	t.Run("NoSuchSegment", func(t *testing.T) {
		for _, p := range []string{"/segments/4/edit", "/segments/0/edit", "/segments/x/edit"} {
			if rec := e.do(t, e.owner, "GET", "/jobs/"+e.jobID+p, ""); rec.Code != http.StatusNotFound {
				t.Errorf("GET %s: %d, want 404", p, rec.Code)
			}
		}
	})
	t.Run("JobPageLinks", func(t *testing.T) {
		doc, _ := goquery.NewDocumentFromReader(e.do(t, e.owner, "GET", "/jobs/"+e.jobID, "").Body)
		links := doc.Find(`[data-testid="segment-edit"]`)
		if links.Length() != 3 || links.Eq(1).AttrOr("href", "") != path {
			t.Fatalf("%d edit links, second to %q", links.Length(), links.Eq(1).AttrOr("href", ""))
		}
		if got := doc.Find(`[data-testid="revisions-link"]`).AttrOr("href", ""); got != "/jobs/"+e.jobID+"/revisions" {
			t.Fatalf("revisions link %q", got)
		}
	})
}

// TestEditorOwnership: another user gets 404 from every editor route, and
// changes nothing.
func TestEditorOwnership(t *testing.T) {
	e := newEditor(t)
	other := logIn(t, e.h, e.routes, "bob@example.com")
	_, etag := e.transcript(t)
	id := e.jobID
	form := "Content-Type"
	cases := []struct {
		name, method, path, body string
		header                   []string
	}{
		{"Download", "GET", "/jobs/" + id + "/transcript.json", "", nil},
		{"Put", "PUT", "/jobs/" + id + "/transcript.json", `{"segments": []}`, []string{"If-Match", etag}},
		{"RevisionsJSON", "GET", "/jobs/" + id + "/revisions", "", []string{"Accept", "application/json"}},
		{"RevisionsPage", "GET", "/jobs/" + id + "/revisions", "", nil},
		{"Restore", "POST", "/jobs/" + id + "/revisions/" + strings.Trim(strings.TrimPrefix(etag, `"rev-`), `"`) + "/restore", "", nil},
		{"EditPage", "GET", "/jobs/" + id + "/segments/1/edit", "", nil},
		{"EditForm", "POST", "/jobs/" + id + "/segments/1/edit", "text=x&etag=" + url.QueryEscape(etag), []string{form, "application/x-www-form-urlencoded"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if rec := e.do(t, other, c.method, c.path, c.body, c.header...); rec.Code != http.StatusNotFound {
				t.Fatalf("%d %s, want 404", rec.Code, rec.Body)
			}
		})
	}
	if _, now := e.transcript(t); now != etag || len(e.revisions(t).Revisions) != 1 {
		t.Fatalf("another user changed the transcript")
	}
}
