package handlers

import (
	"fmt"
	"strconv"
	"strings"
)

// revisionETag names a revision of a transcript in HTTP: a strong ETag,
// so a client can send it back in If-Match.
func revisionETag(id int64) string { return fmt.Sprintf(`"rev-%d"`, id) }

// ifMatch reports whether an If-Match value admits revision id as the
// current one: it lists its ETag, or is "*", which matches any current
// transcript (RFC 9110 §13.1.1). If-Match compares strongly, so weak tags
// never match.
func ifMatch(header string, id int64) bool {
	for tag := range strings.SplitSeq(header, ",") {
		if tag = strings.TrimSpace(tag); tag == "*" || tag == revisionETag(id) {
			return true
		}
	}
	return false
}

// parseRevision reads a revision id from a path segment: the number the
// revisions list gives, or the name inside its ETag ("rev-42").
func parseRevision(s string) (int64, bool) {
	id, err := strconv.ParseInt(strings.TrimPrefix(s, "rev-"), 10, 64)
	return id, err == nil && id > 0
}
