module example.com/payments/ledger

go 1.21

require (
	github.com/gin-gonic/gin v1.7.0
	golang.org/x/text v0.3.5
	gopkg.in/yaml.v2 v2.2.2
)

require golang.org/x/net v0.7.0 // indirect
