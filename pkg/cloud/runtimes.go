package cloud

import (
	"strings"
	"time"
)

// runtimeEOL is the day each language version stopped getting security
// fixes from its maintainers (python.org, php.net, nodejs.org, Microsoft's
// .NET support policy). Versions not listed are judged unknown.
var runtimeEOL = map[string]map[string]string{
	"python": {"2.7": "2020-01-01", "3.4": "2019-03-18", "3.5": "2020-09-13", "3.6": "2021-12-23", "3.7": "2023-06-27",
		"3.8": "2024-10-07", "3.9": "2025-10-31", "3.10": "2026-10-31", "3.11": "2027-10-31", "3.12": "2028-10-31",
		"3.13": "2029-10-31", "3.14": "2030-10-31"},
	"php": {"5.6": "2018-12-31", "7.0": "2019-01-10", "7.1": "2019-12-01", "7.2": "2020-11-30", "7.3": "2021-12-06",
		"7.4": "2022-11-28", "8.0": "2023-11-26", "8.1": "2025-12-31", "8.2": "2026-12-31", "8.3": "2027-12-31", "8.4": "2028-12-31"},
	"node": {"8": "2019-12-31", "10": "2021-04-30", "12": "2022-04-30", "14": "2023-04-30", "16": "2023-09-11",
		"18": "2025-04-30", "20": "2026-04-30", "22": "2027-04-30", "24": "2028-04-30"},
	"dotnet": {"2.1": "2021-08-21", "3.1": "2022-12-13", "5.0": "2022-05-10", "6.0": "2024-11-12", "7.0": "2024-05-14",
		"8.0": "2026-11-10", "9.0": "2026-11-10", "10.0": "2028-11-14"},
}

// Runtime normalises a language and version to "python 3.8": the language
// lower-cased and aliases folded (nodejs, dotnetcore), the version cut to
// the part its maintainers support as a line (3.8.10 to 3.8, 18-lts to 18,
// v6.0 to 6.0). It returns "" when either is empty.
func Runtime(lang, version string) string {
	lang = strings.ToLower(strings.TrimSpace(lang))
	switch lang {
	case "nodejs":
		lang = "node"
	case "dotnetcore", "aspnetcore", ".net", "dotnet-isolated":
		lang = "dotnet"
	}
	v := strings.TrimPrefix(strings.ToLower(strings.TrimSpace(version)), "v")
	v = strings.TrimSuffix(strings.TrimSuffix(v, "-lts"), ".x")
	if lang == "" || v == "" {
		return ""
	}
	parts := strings.Split(v, ".")
	switch {
	case lang == "node":
		v = parts[0]
	case len(parts) >= 2:
		v = parts[0] + "." + parts[1]
	case lang == "dotnet":
		v = parts[0] + ".0"
	}
	return lang + " " + v
}

// EndOfLife reports whether a runtime from Runtime had passed its end of
// life at now; known is false for a runtime the table does not list.
func EndOfLife(runtime string, now time.Time) (eol, known bool) {
	lang, v, ok := strings.Cut(runtime, " ")
	if !ok {
		return false, false
	}
	day, ok := runtimeEOL[lang][v]
	if !ok {
		return false, false
	}
	t, err := time.Parse(time.DateOnly, day)
	if err != nil {
		return false, false
	}
	return !now.Before(t), true
}
