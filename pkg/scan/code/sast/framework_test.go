package sast

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// stubs are the parts of the web frameworks' APIs the test programs use,
// as modules of their own import paths: the analysis knows them by type.
var stubs = map[string]string{
	"github.com/gin-gonic/gin": `package gin
type Context struct{ keys map[string]any }
func (c *Context) Query(key string) string { return "" }
func (c *Context) Param(key string) string { return "" }
func (c *Context) ShouldBindJSON(obj any) error { return nil }
func (c *Context) String(code int, s string) {}`,
	"github.com/labstack/echo/v4": `package echo
type Context interface {
	QueryParam(name string) string
	FormValue(name string) string
	Bind(i any) error
}`,
	"github.com/go-chi/chi/v5": `package chi
import "net/http"
func URLParam(r *http.Request, key string) string { return "" }`,
	"github.com/gofiber/fiber/v2": `package fiber
type Ctx struct{ n int }
func (c *Ctx) Query(key string, def ...string) string { return "" }
func (c *Ctx) Params(key string, def ...string) string { return "" }
func (c *Ctx) BodyParser(out any) error { return nil }`,
	"github.com/gorilla/mux": `package mux
import "net/http"
func Vars(r *http.Request) map[string]string { return nil }`,
}

// Request data read through gin, echo, chi, fiber and gorilla/mux is a
// source like net/http's, and reaches the same sinks.
func TestWebFrameworkSources(t *testing.T) {
	root := t.TempDir()
	gomod := "module example.com/shop\n\ngo 1.22\n\nrequire (\n"
	replace := ""
	for path, src := range stubs {
		dir := filepath.Join(root, "stubs", filepath.Base(strings.TrimSuffix(strings.TrimSuffix(path, "/v4"), "/v5")), filepath.Base(path))
		write(t, filepath.Join(dir, "go.mod"), "module "+path+"\n\ngo 1.22\n")
		write(t, filepath.Join(dir, "stub.go"), src+"\n")
		version := "v0.0.0"
		if m := path[strings.LastIndex(path, "/")+1:]; len(m) == 2 && m[0] == 'v' {
			version = m + ".0.0" // a major version's path names it
		}
		gomod += "\t" + path + " " + version + "\n"
		rel, _ := filepath.Rel(root, dir)
		replace += "replace " + path + " => ./" + filepath.ToSlash(rel) + "\n"
	}
	write(t, filepath.Join(root, "go.mod"), gomod+")\n\n"+replace)
	handlers := map[string]string{
		"gin": `package gin
import ("database/sql"; "os/exec"; "github.com/gin-gonic/gin")
type order struct{ Note string }
func Search(db *sql.DB) func(*gin.Context) {
	return func(c *gin.Context) { db.Query("SELECT * FROM items WHERE name = '" + c.Query("q") + "'") }
}
func Ping(c *gin.Context) { exec.Command("sh", "-c", "ping -c1 "+c.Param("host")).Run() }
func Note(db *sql.DB, c *gin.Context) { var o order; c.ShouldBindJSON(&o); db.Exec("UPDATE orders SET note = '" + o.Note + "'") }`,
		"echo": `package echo
import ("database/sql"; "os"; "github.com/labstack/echo/v4")
type form struct{ Path string }
func Find(db *sql.DB, c echo.Context) error { _, err := db.Query("SELECT * FROM t WHERE id = " + c.QueryParam("id")); return err }
func Read(c echo.Context) error { _, err := os.ReadFile("/srv/" + c.FormValue("file")); return err }
func Upload(c echo.Context) error { var f form; c.Bind(&f); _, err := os.Open(f.Path); return err }`,
		"chi": `package chi
import ("net/http"; "os"; "github.com/go-chi/chi/v5")
func File(w http.ResponseWriter, r *http.Request) { os.ReadFile("/data/" + chi.URLParam(r, "name")) }`,
		"fiber": `package fiber
import ("database/sql"; "net/http"; "github.com/gofiber/fiber/v2")
type body struct{ URL string }
func User(db *sql.DB, c *fiber.Ctx) error { _, err := db.Query("SELECT * FROM users WHERE name = '" + c.Params("name") + "'"); return err }
func Fetch(c *fiber.Ctx) error { _, err := http.Get(c.Query("url")); return err }
func Hook(c *fiber.Ctx) error { var b body; c.BodyParser(&b); _, err := http.Get(b.URL); return err }`,
		"mux": `package mux
import ("net/http"; "os/exec"; "github.com/gorilla/mux")
func Run(w http.ResponseWriter, r *http.Request) { exec.Command(mux.Vars(r)["tool"]).Run() }`,
		"safe": `package safe
import ("database/sql"; "strconv"; "github.com/gin-gonic/gin")
func Item(db *sql.DB, c *gin.Context) { id, _ := strconv.Atoi(c.Query("id")); db.Query("SELECT * FROM items WHERE id = " + strconv.Itoa(id)) }`,
	}
	var dirs []string
	for name, src := range handlers {
		d := filepath.Join(root, name)
		write(t, filepath.Join(d, name+".go"), src+"\n")
		dirs = append(dirs, d)
	}
	results, errs := Analyze(context.Background(), dirs)
	for _, e := range errs {
		t.Errorf("analyze: %v", e)
	}
	got := map[string]map[string]int{}
	for _, r := range results {
		pkg := filepath.Base(filepath.Dir(r.Position.Filename))
		if got[pkg] == nil {
			got[pkg] = map[string]int{}
		}
		got[pkg][r.Check]++
	}
	want := map[string]map[string]int{
		"gin":   {CheckSQLInjection: 2, CheckCommandInjection: 1},
		"echo":  {CheckSQLInjection: 1, CheckPathTraversal: 2},
		"chi":   {CheckPathTraversal: 1},
		"fiber": {CheckSQLInjection: 1, CheckSSRF: 2},
		"mux":   {CheckCommandInjection: 1},
	}
	for pkg, checks := range want {
		for check, n := range checks {
			if got[pkg][check] != n {
				t.Errorf("%s: %s reported %d times, want %d (all: %v)", pkg, check, got[pkg][check], n, got[pkg])
			}
		}
	}
	if got["safe"][CheckSQLInjection] != 0 {
		t.Errorf("an id parsed as a number reported as SQL injection: %v", got["safe"])
	}
}
