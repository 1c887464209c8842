package sandbox

import (
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// listURI is the path of the page at limit and offset with the filters of
// q, as next and previous give it.
func (s *Server) listURI(q url.Values, limit, offset int) string {
	v := url.Values{}
	for _, k := range []string{"number_startswith", "subaccount", "alias"} {
		if f := q.Get(k); f != "" {
			v.Set(k, f)
		}
	}
	tail := ""
	if len(v) > 0 {
		tail = "&" + v.Encode()
	}
	return fmt.Sprintf("/v1/Account/%s/Number/?limit=%d&offset=%d%s", s.cfg.AuthID, limit, offset, tail)
}

type listMeta struct {
	Limit      int     `json:"limit"`
	Offset     int     `json:"offset"`
	TotalCount int     `json:"total_count"`
	Next       *string `json:"next"`
	Previous   *string `json:"previous"`
}

type listJSON struct {
	APIID   string       `json:"api_id"`
	Meta    listMeta     `json:"meta"`
	Objects []numberJSON `json:"objects"`
}

// listParams are the parameters the number list accepts, sorted.
var listParams = []string{"alias", "limit", "number_startswith", "offset", "subaccount"}

// listFilter is what a list request keeps; empty fields keep everything.
type listFilter struct {
	prefix, subaccount, alias string
}

func (f listFilter) keep(n Number) bool {
	return (f.subaccount == "" || n.Subaccount == f.subaccount) && (f.alias == "" || n.Alias == f.alias)
}

// listNumbers serves one page of the account's numbers, sorted by number,
// filtered by number_startswith, subaccount and alias.
func (s *Server) listNumbers(x *exchange) {
	q, err := url.ParseQuery(x.r.URL.RawQuery)
	if err != nil {
		x.fail(http.StatusBadRequest, "malformed query string")
		return
	}
	limit, offset := MaxPageSize, 0
	var f listFilter
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys) // the first bad parameter is always the same one
	for _, k := range keys {
		vs := q[k]
		if i := sort.SearchStrings(listParams, k); i == len(listParams) || listParams[i] != k {
			x.fail(http.StatusBadRequest, fmt.Sprintf("unknown parameter %q; the sandbox accepts %s", k, strings.Join(listParams, ", ")))
			return
		}
		if len(vs) != 1 {
			x.fail(http.StatusBadRequest, fmt.Sprintf("parameter %q given %d times", k, len(vs)))
			return
		}
		v := vs[0]
		switch k {
		case "limit":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > MaxPageSize {
				x.fail(http.StatusBadRequest, fmt.Sprintf("limit must be an integer from 1 to %d", MaxPageSize))
				return
			}
			limit = n
		case "offset":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				x.fail(http.StatusBadRequest, "offset must be an integer, 0 or more")
				return
			}
			offset = n
		case "number_startswith":
			if v == "" || strings.Trim(v, "0123456789") != "" {
				x.fail(http.StatusBadRequest, "number_startswith must be one or more digits")
				return
			}
			f.prefix = v
		case "subaccount":
			s.mu.RLock()
			_, known := s.subs[v]
			s.mu.RUnlock()
			if !known {
				x.fail(http.StatusBadRequest, fmt.Sprintf("subaccount %q is not a subaccount of this account", v))
				return
			}
			f.subaccount = v
		case "alias":
			if v == "" {
				x.fail(http.StatusBadRequest, "alias must not be empty")
				return
			}
			f.alias = v
		}
	}

	s.mu.Lock()
	order := s.sortedLocked()
	if f.prefix != "" {
		// The numbers that start with the prefix are a run of the sorted
		// order.
		lo := sort.SearchStrings(order, f.prefix)
		hi := lo
		for hi < len(order) && strings.HasPrefix(order[hi], f.prefix) {
			hi++
		}
		order = order[lo:hi]
	}
	var total int
	var objects []numberJSON
	if f.subaccount == "" && f.alias == "" {
		total = len(order)
		lo, hi := min(offset, total), min(offset+limit, total)
		objects = make([]numberJSON, 0, hi-lo)
		for _, k := range order[lo:hi] {
			objects = append(objects, s.listObject(s.numbers[k]))
		}
	} else {
		objects = make([]numberJSON, 0, limit)
		for _, k := range order {
			n := s.numbers[k]
			if !f.keep(n) {
				continue
			}
			if total >= offset && len(objects) < limit {
				objects = append(objects, s.listObject(n))
			}
			total++
		}
	}
	s.mu.Unlock()

	meta := listMeta{Limit: limit, Offset: offset, TotalCount: total}
	if offset+limit < total {
		meta.Next = nullable(s.listURI(q, limit, offset+limit))
	}
	if offset > 0 {
		meta.Previous = nullable(s.listURI(q, limit, max(0, offset-limit)))
	}
	x.json(http.StatusOK, listJSON{APIID: x.rec.APIID, Meta: meta, Objects: objects})
}

// listObject is n as the list shows it: as a single read does, but for
// sub_account, which is a plain auth_id, as in the answers Plivo's SDKs
// recorded. A client must cope with both shapes.
func (s *Server) listObject(n Number) numberJSON {
	j := s.numberJSON(n)
	j.SubAccount = nullable(n.Subaccount)
	return j
}
