package batch

import (
	"errors"
	"math"
	"slices"
	"sync"

	"github.com/plivo-bulk/plivo-bulk/client"
)

// ReadMode says how a job learns the current settings of the numbers it
// needs them for (plan; run's undo, skip-unchanged and app pin).
type ReadMode string

// The read modes.
const (
	// ReadAuto takes the first page of the account's listing, which tells
	// how many numbers the account has, and then picks the cheaper of
	// ReadPage and ReadEach.
	ReadAuto ReadMode = "auto"
	// ReadPage lists the whole account, 20 numbers a request, keeping the
	// input's numbers only.
	ReadPage ReadMode = "page"
	// ReadEach reads each number on its own, one request a row.
	ReadEach ReadMode = "each"
	// readNone is what a ReadPlan says was chosen when no row needed the
	// settings.
	readNone ReadMode = "none"
)

// Set parses a ReadMode, for a flag.
func (m *ReadMode) Set(s string) error {
	switch ReadMode(s) {
	case ReadAuto, ReadPage, ReadEach:
		*m = ReadMode(s)
		return nil
	}
	return errBadReadMode
}

func (m ReadMode) String() string { return string(m) }

var errBadReadMode = errors.New("want auto, page or each")

// snapshot holds the settings of the input's numbers as a listing of the
// account gave them. It keeps only the numbers it was asked for, packed
// (NumberKey) and sorted, with their application, subaccount and
// compliance ids interned and their aliases in one arena, so that a
// million numbers cost about 30 MB (20 bytes a number, 8 for its key, and
// the aliases' bytes) and no allocation of their own for the collector to
// trace.
type snapshot struct {
	keys []uint64 // the input's numbers that need their settings, sorted

	mu      sync.Mutex
	vals    []known // by index of keys
	ids     []string
	idOf    map[string]uint32
	aliases []byte // every alias kept, end to end
	listed  int    // objects seen in the listing
}

// known is a number's settings; ids index snapshot.ids, 0 meaning "". The
// alias is aliases[alias:alias+aliasEnd-1]: aliasEnd is the length plus 1,
// so that 0 means the listing did not give the number.
type known struct {
	app, sub, compliance uint32
	alias, aliasEnd      uint32
}

func (k known) set() bool { return k.aliasEnd != 0 }

func newSnapshot(keys []uint64) *snapshot {
	slices.Sort(keys)
	keys = slices.Compact(keys)
	return &snapshot{keys: keys, vals: make([]known, len(keys)), ids: []string{""}, idOf: map[string]uint32{"": 0}}
}

func (s *snapshot) intern(id string) uint32 {
	if i, ok := s.idOf[id]; ok {
		return i
	}
	i := uint32(len(s.ids))
	s.ids = append(s.ids, id)
	s.idOf[id] = i
	return i
}

// add keeps what a page says of the numbers the snapshot wants.
func (s *snapshot) add(objects []client.NumberInfo) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, o := range objects {
		s.listed++
		n, bad := NormalizeNumber(o.Number)
		if bad != "" || len(o.Missing) > 0 { // a number without all its settings is read on its own
			continue
		}
		i, ok := slices.BinarySearch(s.keys, NumberKey(n))
		if !ok {
			continue
		}
		if uint64(len(s.aliases))+uint64(len(o.Alias))+1 > math.MaxUint32 {
			continue // past what an offset holds: the number is read on its own
		}
		at := uint32(len(s.aliases))
		s.aliases = append(s.aliases, o.Alias...)
		s.vals[i] = known{app: s.intern(o.AppID()), sub: s.intern(o.SubaccountID()),
			compliance: s.intern(o.ComplianceApplicationID), alias: at, aliasEnd: uint32(len(o.Alias)) + 1}
	}
}

// get returns a number's settings, if the listing gave them.
func (s *snapshot) get(number string) (Targets, bool) {
	if s == nil {
		return Targets{}, false
	}
	i, ok := slices.BinarySearch(s.keys, NumberKey(number))
	if !ok {
		return Targets{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := s.vals[i]
	if !k.set() {
		return Targets{}, false
	}
	var t Targets
	t[AppID] = Setting{Value: s.ids[k.app], Set: true}
	t[Subaccount] = Setting{Value: s.ids[k.sub], Set: true}
	t[Alias] = Setting{Value: string(s.aliases[k.alias : k.alias+k.aliasEnd-1]), Set: true}
	t[ComplianceApplicationID] = Setting{Value: s.ids[k.compliance], Set: true}
	return t, true
}

// found counts the wanted numbers the listing gave.
func (s *snapshot) found() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, v := range s.vals {
		if v.set() {
			n++
		}
	}
	return n
}
