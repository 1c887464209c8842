package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/plivo-bulk/plivo-bulk/batch"
)

// failureBudgetFlag is --max-failures: a count of rows, or a percentage of
// the rows sent ("5%").
type failureBudgetFlag batch.FailureBudget

func (f *failureBudgetFlag) String() string {
	if f == nil || *f == (failureBudgetFlag{}) {
		return "off"
	}
	return batch.FailureBudget(*f).String()
}

func (f *failureBudgetFlag) Set(s string) error {
	s = strings.TrimSpace(s)
	if p, ok := strings.CutSuffix(s, "%"); ok {
		v, err := strconv.ParseFloat(p, 64)
		if err != nil || !(v > 0 && v <= 100) { // NaN too
			return fmt.Errorf("want a percentage above 0 and at most 100, as in 5%%")
		}
		*f = failureBudgetFlag{Percent: v}
		return nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return fmt.Errorf("want a number of rows (1 or more) or a percentage, as in 5%%")
	}
	*f = failureBudgetFlag{Count: n}
	return nil
}

func (f *failureBudgetFlag) Type() string { return "budget" }
