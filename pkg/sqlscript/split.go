// Package sqlscript splits MySQL scripts into statements the way the mysql
// command-line client does, and classifies the statements of schema scripts
// (the WSO2 dbscripts/mysql*.sql files).
package sqlscript

import (
	"fmt"
	"regexp"
	"strings"
)

// Statement is one SQL statement of a script.
type Statement struct {
	// Text is the statement without its trailing delimiter, with comments
	// stripped (MySQL executable comments /*! ... */, /*M! ... */ and
	// optimizer hints /*+ ... */ are kept), trimmed.
	Text string
	// Line is the 1-based line of the script where the statement starts.
	Line int
}

// SyntaxError reports a script that cannot be split: an unterminated quoted
// string, identifier or comment, or a bad DELIMITER command.
type SyntaxError struct {
	Line int // 1-based line where the offending construct starts
	Msg  string
}

// Error implements error.
func (e *SyntaxError) Error() string {
	return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
}

// delimiterCmd matches a DELIMITER client command at the start of a line.
var delimiterCmd = regexp.MustCompile(`(?i)^[ \t]*delimiter(?:[ \t]+|$)`)

// Split parses a MySQL script like the mysql client does:
//
//   - "-- " comments: "--" must be followed by whitespace, a control character
//     or the end of the line; like the client, a line that starts a statement
//     with "--" is a comment even without the space ("--x" elsewhere is SQL);
//   - "#" comments to the end of the line and /* ... */ comments (executable
//     comments /*! ... */, /*M! ... */ and hints /*+ ... */ are kept as SQL);
//   - quoted strings and identifiers ('...', "...", `...`) with backslash
//     escapes and doubled quotes;
//   - DELIMITER commands (case-insensitive, at the start of a line, outside a
//     statement): DELIMITER // ... // ... DELIMITER ;
//   - statements ending at the current delimiter; the last one may lack it.
//
// CRLF line endings are read as LF. Empty statements (a lone delimiter) are
// dropped. Client commands other than DELIMITER (\g, \G, \d, source, use
// without a delimiter...) are not interpreted. An unterminated quote or
// comment, or a DELIMITER command without a delimiter, returns a *SyntaxError.
func Split(script string) ([]Statement, error) {
	s := &splitter{src: strings.ReplaceAll(script, "\r\n", "\n"), line: 1, delim: ";"}
	for s.pos < len(s.src) {
		if err := s.step(); err != nil {
			return nil, err
		}
	}
	s.flush()
	return s.out, nil
}

// splitter holds the state of one Split call.
type splitter struct {
	src   string
	pos   int
	line  int    // line of src[pos]
	delim string // current statement delimiter
	buf   strings.Builder
	start int // line where the pending statement starts; 0 = none yet
	out   []Statement
}

// step consumes one token: a delimiter command, a delimiter, a comment, a
// quoted string or a single byte.
func (s *splitter) step() error {
	rest := s.src[s.pos:]
	switch {
	case s.start == 0 && s.atLineStart() && delimiterCmd.MatchString(s.currentLine()):
		return s.delimiterCommand()
	case strings.HasPrefix(rest, s.delim):
		s.pos += len(s.delim)
		s.flush()
	case rest[0] == '#' || s.isDashComment(rest):
		s.skipLineComment()
	case strings.HasPrefix(rest, "/*") && !isKeptComment(rest):
		return s.skipBlockComment()
	case rest[0] == '\'' || rest[0] == '"' || rest[0] == '`':
		return s.copyQuoted()
	case rest[0] == '\\' && len(rest) > 1:
		// Outside quotes the client reads \x as a client command; it passes
		// unknown ones through, so keep both bytes together.
		s.emit(rest[:2])
	default:
		s.emit(rest[:1])
	}
	return nil
}

// atLineStart reports whether pos is at the beginning of a line.
func (s *splitter) atLineStart() bool {
	return s.pos == 0 || s.src[s.pos-1] == '\n'
}

// currentLine returns the text from pos to the end of its line.
func (s *splitter) currentLine() string {
	rest := s.src[s.pos:]
	if i := strings.IndexByte(rest, '\n'); i >= 0 {
		return rest[:i]
	}
	return rest
}

// delimiterCommand handles a "DELIMITER x" line and consumes it.
func (s *splitter) delimiterCommand() error {
	text := s.currentLine()
	arg := strings.TrimSpace(delimiterCmd.ReplaceAllString(text, ""))
	delim := firstWord(arg)
	switch {
	case delim == "":
		return &SyntaxError{s.line, "DELIMITER must be followed by the new delimiter, e.g. DELIMITER // (and DELIMITER ; to switch back)"}
	case strings.Contains(delim, `\`):
		return &SyntaxError{s.line, fmt.Sprintf("DELIMITER %q contains a backslash, which the mysql client rejects: pick another delimiter such as //", delim)}
	}
	s.delim = delim
	s.pos += len(text)
	return nil
}

// firstWord returns the first word of arg; a word opened by a quote runs to
// the matching quote, which is removed.
func firstWord(arg string) string {
	if arg == "" {
		return ""
	}
	if q := arg[0]; q == '\'' || q == '"' || q == '`' {
		if i := strings.IndexByte(arg[1:], q); i >= 0 {
			return arg[1 : i+1]
		}
		return arg[1:]
	}
	if i := strings.IndexAny(arg, " \t"); i >= 0 {
		return arg[:i]
	}
	return arg
}

// isDashComment reports whether rest starts a "--" comment.
func (s *splitter) isDashComment(rest string) bool {
	if !strings.HasPrefix(rest, "--") {
		return false
	}
	return len(rest) == 2 || rest[2] <= ' ' || s.start == 0
}

// isKeptComment reports whether rest starts a comment the server executes.
func isKeptComment(rest string) bool {
	return strings.HasPrefix(rest, "/*!") || strings.HasPrefix(rest, "/*M!") || strings.HasPrefix(rest, "/*+")
}

// skipLineComment drops a # or -- comment up to the end of its line. A line
// holding nothing but the comment disappears entirely, newline included.
func (s *splitter) skipLineComment() {
	end := strings.IndexByte(s.src[s.pos:], '\n')
	if end < 0 {
		s.pos = len(s.src)
		return
	}
	s.pos += end
	text := strings.TrimRight(s.buf.String(), " \t")
	s.buf.Reset()
	s.buf.WriteString(text)
	if text == "" || strings.HasSuffix(text, "\n") {
		s.pos++ // the comment filled its line: drop the newline too
		s.line++
	}
}

// skipBlockComment drops a /* ... */ comment, leaving a space in its place.
func (s *splitter) skipBlockComment() error {
	end := strings.Index(s.src[s.pos+2:], "*/")
	if end < 0 {
		return &SyntaxError{s.line, "unterminated /* comment: add the closing */"}
	}
	body := s.src[s.pos : s.pos+2+end+2]
	s.line += strings.Count(body, "\n")
	s.pos += len(body)
	if s.start != 0 {
		s.buf.WriteByte(' ')
	}
	return nil
}

// copyQuoted copies a quoted string or identifier, honouring backslash
// escapes and doubled quotes.
func (s *splitter) copyQuoted() error {
	q := s.src[s.pos]
	startLine := s.line
	for i := s.pos + 1; i < len(s.src); i++ {
		switch s.src[i] {
		case '\\':
			i++
		case q:
			if i+1 < len(s.src) && s.src[i+1] == q {
				i++
				continue
			}
			s.emit(s.src[s.pos : i+1])
			return nil
		}
	}
	return &SyntaxError{startLine, fmt.Sprintf("unterminated %s starting here: add the closing %c", quoteName(q), q)}
}

// quoteName names what a quote character opens.
func quoteName(q byte) string {
	if q == '`' {
		return "quoted identifier"
	}
	return "string"
}

// emit appends text to the pending statement and advances past it.
func (s *splitter) emit(text string) {
	if s.start == 0 && strings.TrimSpace(text) != "" {
		s.start = s.line
	}
	if s.start != 0 {
		s.buf.WriteString(text)
	}
	s.line += strings.Count(text, "\n")
	s.pos += len(text)
}

// flush ends the pending statement.
func (s *splitter) flush() {
	if text := strings.TrimSpace(s.buf.String()); text != "" {
		s.out = append(s.out, Statement{Text: text, Line: s.start})
	}
	s.buf.Reset()
	s.start = 0
}
