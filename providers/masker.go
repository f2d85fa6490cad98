package providers

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// masker replaces every occurrence of a set of secrets in a text by its
// mask, in one pass and in time linear in the text and the secrets
// (Aho–Corasick). strings.NewReplacer is not: with a single long secret it
// builds a Boyer–Moore table in time quadratic in the secret's length (a
// 200 KB token of one repeated character took minutes), and its trie walks
// a long common prefix again at every position of the text.
//
// Occurrences that overlap, or that lie inside another, are masked as one
// run, by its length alone: no part of any secret is left showing, and the
// head or tail of a longer secret's mask cannot show a shorter one whole. Secrets shorter than minReplaced runes are
// left out: they would match unrelated text.
type masker struct {
	nodes  []acNode
	edges  []acEdge
	maskOf func(string) string
}

// acNode is a state of the automaton: the secret prefix spelled by the path
// from the root.
type acNode struct {
	first  int32 // first outgoing edge, -1 when none
	fail   int32 // the longest proper suffix that is also a state
	out    int32 // the state of the longest secret ending here, -1 when none
	depth  int32 // length in bytes of the prefix
	secret bool  // the prefix is a whole secret
}

// acEdge is a transition on one byte; edges of a state form a linked list.
type acEdge struct {
	label byte
	to    int32
	next  int32
}

// newMasker builds the automaton of secrets; maskOf masks one secret.
func newMasker(secrets []string, maskOf func(string) string) *masker {
	m := &masker{nodes: []acNode{{first: -1, out: -1}}, maskOf: maskOf}
	for _, s := range secrets {
		if utf8.RuneCountInString(s) < minReplaced {
			continue
		}
		n := int32(0)
		for i := 0; i < len(s); i++ {
			n = m.extend(n, s[i])
		}
		m.nodes[n].secret = true
	}
	if len(m.nodes) > 1 {
		m.link()
	}
	return m
}

// child is n's transition on b, -1 when there is none.
func (m *masker) child(n int32, b byte) int32 {
	for e := m.nodes[n].first; e >= 0; e = m.edges[e].next {
		if m.edges[e].label == b {
			return m.edges[e].to
		}
	}
	return -1
}

// extend returns n's child on b, adding it when missing.
func (m *masker) extend(n int32, b byte) int32 {
	if c := m.child(n, b); c >= 0 {
		return c
	}
	c := int32(len(m.nodes))
	m.nodes = append(m.nodes, acNode{first: -1, out: -1, depth: m.nodes[n].depth + 1})
	m.edges = append(m.edges, acEdge{label: b, to: c, next: m.nodes[n].first})
	m.nodes[n].first = int32(len(m.edges) - 1)
	return c
}

// link sets the failure and output links, breadth first.
func (m *masker) link() {
	queue := []int32{0}
	for len(queue) > 0 {
		u := queue[0]
		queue = queue[1:]
		for e := m.nodes[u].first; e >= 0; e = m.edges[e].next {
			b, v := m.edges[e].label, m.edges[e].to
			fail := int32(0)
			if u != 0 {
				for f := m.nodes[u].fail; ; f = m.nodes[f].fail {
					if c := m.child(f, b); c >= 0 {
						fail = c
						break
					}
					if f == 0 {
						break
					}
				}
			}
			m.nodes[v].fail = fail
			if m.nodes[v].secret {
				m.nodes[v].out = v
			} else {
				m.nodes[v].out = m.nodes[fail].out
			}
			queue = append(queue, v)
		}
	}
}

// run is a stretch [start, end) of text to mask.
type run struct {
	start, end int
	merged     bool // more than one secret, nested or overlapping
}

// Replace returns text with every secret masked.
func (m *masker) Replace(text string) string {
	if len(m.nodes) == 1 || text == "" {
		return text
	}
	var runs []run
	state := int32(0)
	for i := 0; i < len(text); i++ {
		b := text[i]
		for {
			if c := m.child(state, b); c >= 0 {
				state = c
				break
			}
			if state == 0 {
				break
			}
			state = m.nodes[state].fail
		}
		o := m.nodes[state].out
		if o < 0 {
			continue
		}
		// The longest secret ending here covers every shorter one ending
		// here; runs arrive in order of their end, so an overlap can only be
		// with the runs at the top of the stack.
		r := run{start: i + 1 - int(m.nodes[o].depth), end: i + 1}
		for len(runs) > 0 && runs[len(runs)-1].end > r.start {
			r.start = min(r.start, runs[len(runs)-1].start)
			r.merged = true
			runs = runs[:len(runs)-1]
		}
		runs = append(runs, r)
	}
	if len(runs) == 0 {
		return text
	}
	var b strings.Builder
	b.Grow(len(text))
	last := 0
	for _, r := range runs {
		b.WriteString(text[last:r.start])
		secret := text[r.start:r.end]
		if r.merged {
			b.WriteString("…(" + strconv.Itoa(utf8.RuneCountInString(secret)) + ")…")
		} else {
			b.WriteString(m.maskOf(secret))
		}
		last = r.end
	}
	b.WriteString(text[last:])
	return b.String()
}
