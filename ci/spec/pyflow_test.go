package spec

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestScanFlows(t *testing.T) {
	src := `'''Module docstring.
@flow
def in_docstring():
    pass
'''
from prefect import flow
import prefect as p

x = """
def in_string(): pass
"""

@flow
def plain(): pass

@flow()
async def empty_call(): pass

@flow(
    name="multi \"quoted\" line",  # comment with ) and "
    retries=2,
)
def multi(): pass

@flow(name=f"formatted-{x}")
def formatted(): pass

@flow(name="a" "b")
def concatenated(): pass

@flow(name = 'single', description="name='nope'")
def single(): pass

@flow(description="x", name=r"raw\n")
def raw(): pass

@prefect.flow(name="dotted")
@other
def dotted(): pass

@other
@prefect . flow
def spaced(): pass

@p.flow
def aliased_module(): pass

@flows
def flows_deco(): pass

@flow.with_options(name="x")
def with_options(): pass

@flow
def redefined(): pass

def redefined(): pass

@flow
class Klass: pass

def after_class(): pass

if True:
    @flow
    def indented(): pass

@flow(name="x",
      retries=1) ; pass
def not_after_statement(): pass

@flow(name="cont", \
      retries=1)
def continued(): pass
`
	got := scanFlows(src)
	want := map[string]pyFunc{
		"plain":               {isFlow: true},
		"empty_call":          {isFlow: true},
		"multi":               {isFlow: true, flowName: `multi "quoted" line`},
		"formatted":           {isFlow: true},
		"concatenated":        {isFlow: true},
		"single":              {isFlow: true, flowName: "single"},
		"raw":                 {isFlow: true, flowName: `raw\n`},
		"dotted":              {isFlow: true, flowName: "dotted"},
		"spaced":              {isFlow: true},
		"aliased_module":      {isFlow: false},
		"flows_deco":          {isFlow: false},
		"with_options":        {isFlow: false},
		"redefined":           {isFlow: false},
		"after_class":         {isFlow: false},
		"continued":           {isFlow: true, flowName: "cont"},
		"not_after_statement": {isFlow: false},
	}
	assert.Equal(t, want, got)
}

// Files saved with Windows line endings scan the same.
func TestScanFlowsCRLF(t *testing.T) {
	src := "from prefect import flow\r\n\r\n@flow(\r\n    name='crlf',\r\n)\r\n# comment\r\nasync def daily():\r\n    pass\r\n\r\ndef plain():\r\n    pass\r\n"
	assert.Equal(t, map[string]pyFunc{"daily": {isFlow: true, flowName: "crlf"}, "plain": {}}, scanFlows(src))
}
