package steps

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/carbonctl/carbonctl/pkg/engine"

	"github.com/carbonctl/carbonctl/pkg/playbook"
)

// Registry rows carbonctl writes, as Carbon 4.4's registry core writes them
// for the super tenant.
const (
	// regTenant is the super tenant's REG_TENANT_ID (-1234).
	regTenant = -1234
	// regRootParent is REG_PATH_PARENT_ID of the root collection "/".
	regRootParent = -1
	// regSystemUser is the creator Carbon records for collections it
	// creates itself (CarbonConstants.REGISTRY_SYSTEM_USERNAME).
	regSystemUser = "wso2.system.user"
	// regMaxPath is the width of REG_PATH.REG_PATH_VALUE.
	regMaxPath = 750
)

// registryTables are the tables a registry-collection step writes to.
var registryTables = []string{"REG_PATH", "REG_RESOURCE"}

// RegistryCollection is the "registry-collection" step kind: collections
// that must exist in the registry database before a product mounts them.
type RegistryCollection struct {
	// RegistryDB is the registry database (a template).
	RegistryDB string `toml:"registry_db"`
	// Collections are absolute registry paths (templates).
	Collections []string `toml:"collections"`
}

// Check wants the database and at least one collection.
func (k *RegistryCollection) Check() error {
	if k.RegistryDB == "" || len(k.Collections) == 0 {
		return fmt.Errorf("registry-collection needs registry_db and at least one of collections")
	}
	return nil
}

// Run creates the missing collections: one result, for the database.
func (k *RegistryCollection) Run(ctx context.Context, e *engine.Engine, s playbook.Step) []*engine.Result {
	return []*engine.Result{runRegistryCollections(ctx, e, s, k)}
}

// runRegistryCollections makes sure the collections a registry-collection
// step names exist in a registry database (the REG_PATH and REG_RESOURCE
// tables of the Carbon 4.4 schema), creating each missing one and its
// missing parents the way Carbon's registry adds a collection — what a
// clustering guide does by hand in the registry's management console
// before another product mounts the collection.
func runRegistryCollections(ctx context.Context, e *engine.Engine, s playbook.Step, k *RegistryCollection) *engine.Result {
	res := &engine.Result{Step: s.Name, Target: engine.DBTarget}
	ok, err := e.Vars.When(s.Name+".when", s.When)
	switch {
	case err != nil:
		failAll(e)
		return engine.Fail(res, err)
	case !ok:
		res.Status, res.Note = engine.Skipped, "(not applicable)"
		return res
	case allTargetsFailed(e):
		res.Status, res.Note = engine.Skipped, "(earlier steps failed on every node)"
		return res
	}
	schema, paths, err := renderCollections(e, s, k)
	if err == nil {
		err = registryCollections(ctx, e, schema, paths, res)
	}
	if err != nil {
		failAll(e)
		return engine.Fail(res, fmt.Errorf("database %s:%d: %w", e.Inv.Database.Host, e.Inv.Database.Port, err))
	}
	return res
}

// allTargetsFailed reports whether earlier steps failed on every target
// node (then no node will mount the collections in this run).
func allTargetsFailed(e *engine.Engine) bool {
	for _, n := range e.Targets {
		if !n.IsFailed() {
			return false
		}
	}
	return len(e.Targets) > 0
}

// renderCollections renders the step's database and collection paths.
func renderCollections(e *engine.Engine, s playbook.Step, k *RegistryCollection) (string, []string, error) {
	schema, err := e.Vars.Render(s.Name+".registry_db", k.RegistryDB)
	if err != nil {
		return "", nil, err
	}
	if !identRE.MatchString(schema) {
		return "", nil, fmt.Errorf("step %s: registry_db %q is not a plain identifier (letters, digits, _)", s.Name, schema)
	}
	var paths []string
	for i, c := range k.Collections {
		p, err := e.Vars.Render(fmt.Sprintf("%s.collections[%d]", s.Name, i), c)
		if err != nil {
			return "", nil, err
		}
		if err := checkCollectionPath(p); err != nil {
			return "", nil, fmt.Errorf("step %s: collections[%d]: %w", s.Name, i, err)
		}
		paths = append(paths, p)
	}
	return schema, paths, nil
}

// checkCollectionPath accepts an absolute, clean registry path.
func checkCollectionPath(p string) error {
	switch {
	case !strings.HasPrefix(p, "/"):
		return fmt.Errorf("%q is not absolute: registry paths start with /, e.g. /_system/asConfig", p)
	case path.Clean(p) != p:
		return fmt.Errorf("%q is not clean: no empty, . or .. segments and no trailing /", p)
	case len(p) > regMaxPath:
		return fmt.Errorf("%q is longer than REG_PATH_VALUE's %d characters", p, regMaxPath)
	case strings.ContainsAny(p, "\x00\n\r\t"):
		return fmt.Errorf("%q holds a control character", p)
	}
	return nil
}

// collectionChain lists p and its ancestors, root first.
func collectionChain(p string) []string {
	chain := []string{p}
	for p != "/" {
		p = path.Dir(p)
		chain = append([]string{p}, chain...)
	}
	return chain
}

// registryCollections reads which collections exist and creates the rest
// (only when applying), recording one action per collection asked for.
func registryCollections(ctx context.Context, e *engine.Engine, schema string, paths []string, res *engine.Result) error {
	admin, err := openDB(e, e.Inv.Database.AdminUser, e.Inv.Database.AdminPassword.Value)
	if err != nil {
		return err
	}
	defer admin.Close()
	reg := regStore{db: admin, schema: schema}
	if err := reg.checkSchema(ctx); err != nil {
		if !e.Planning() {
			return err
		}
		// A plan on fresh hosts: the registry node's databases step,
		// which runs first, has not imported the schema yet.
		for _, p := range paths {
			res.AddChange(fmt.Sprintf("create registry collection %s in %s (REG_PATH, REG_RESOURCE), and its missing parents, once the registry node's databases step has imported the registry schema", p, schema), "")
		}
		return nil
	}
	for _, p := range paths {
		missing, err := reg.missing(ctx, p)
		if err != nil {
			return err
		}
		if len(missing) == 0 {
			continue
		}
		desc := fmt.Sprintf("create registry collection %s in %s (REG_PATH, REG_RESOURCE)", p, schema)
		if len(missing) > 1 {
			desc += "; first its missing parent collections " + strings.Join(missing[:len(missing)-1], ", ")
		}
		if err := e.Change(res, desc, "", func() error {
			return reg.create(ctx, missing, fmt.Sprintf("created by carbonctl for cluster %s", e.Inv.Cluster.Name))
		}); err != nil {
			return fmt.Errorf("create registry collection %s in %s: %w", p, schema, err)
		}
	}
	return nil
}

// regStore reads and writes the registry tables of one database.
type regStore struct {
	db     *sql.DB
	schema string
}

// table is the qualified name of a registry table.
func (r regStore) table(name string) string { return "`" + r.schema + "`.`" + name + "`" }

// checkSchema fails unless the database holds the registry tables.
func (r regStore) checkSchema(ctx context.Context) error {
	var missing []string
	for _, t := range registryTables {
		var n int
		err := r.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?", r.schema, t).Scan(&n)
		if err != nil {
			return fmt.Errorf("look up table %s.%s: %w", r.schema, t, err)
		}
		if n == 0 {
			missing = append(missing, t)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%s has no %s table: it does not hold a registry yet (the registry node's databases step imports dbscripts/mysql.sql into it; list the registry node first in the inventory)",
			r.schema, strings.Join(missing, ", "))
	}
	return nil
}

// missing returns p's chain from the first collection that does not exist
// (nil when p exists). A resource that is not a collection at a path of
// the chain is an error: Carbon cannot put a collection there either.
func (r regStore) missing(ctx context.Context, p string) ([]string, error) {
	chain := collectionChain(p)
	for i, c := range chain {
		exists, err := r.collectionExists(ctx, c)
		if err != nil {
			return nil, err
		}
		if !exists {
			if err := r.checkNoResource(ctx, c); err != nil {
				return nil, err
			}
			return chain[i:], nil
		}
	}
	return nil, nil
}

// pathID returns the REG_PATH_ID of a path, or 0 when it has none.
func (r regStore) pathID(ctx context.Context, q queryer, p string) (int64, error) {
	var id int64
	err := q.QueryRowContext(ctx, "SELECT REG_PATH_ID FROM "+r.table("REG_PATH")+" WHERE REG_PATH_VALUE = ? AND REG_TENANT_ID = ? ORDER BY REG_PATH_ID LIMIT 1", p, regTenant).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read REG_PATH of %s: %w", p, err)
	}
	return id, nil
}

// collectionExists reports whether a collection is stored at p: a REG_PATH
// row and a REG_RESOURCE row without a name (Carbon's collection row).
func (r regStore) collectionExists(ctx context.Context, p string) (bool, error) {
	id, err := r.pathID(ctx, r.db, p)
	if err != nil || id == 0 {
		return false, err
	}
	var n int
	if err := r.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+r.table("REG_RESOURCE")+" WHERE REG_PATH_ID = ? AND REG_NAME IS NULL AND REG_TENANT_ID = ?", id, regTenant).Scan(&n); err != nil {
		return false, fmt.Errorf("read REG_RESOURCE of %s: %w", p, err)
	}
	return n > 0, nil
}

// checkNoResource fails when a plain resource (not a collection) is stored at p.
func (r regStore) checkNoResource(ctx context.Context, p string) error {
	if p == "/" {
		return nil
	}
	parent, err := r.pathID(ctx, r.db, path.Dir(p))
	if err != nil || parent == 0 {
		return err
	}
	var n int
	if err := r.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+r.table("REG_RESOURCE")+" WHERE REG_PATH_ID = ? AND REG_NAME = ? AND REG_TENANT_ID = ?", parent, path.Base(p), regTenant).Scan(&n); err != nil {
		return fmt.Errorf("read REG_RESOURCE of %s: %w", p, err)
	}
	if n > 0 {
		return fmt.Errorf("%s holds a resource, not a collection, at %s: remove or move it in the registry first", r.schema, p)
	}
	return nil
}

// queryer is a *sql.DB or *sql.Tx.
type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// create adds the collections of chain (parents first) in one transaction:
// the REG_PATH row unless the path already has one, then the collection's
// REG_RESOURCE row.
func (r regStore) create(ctx context.Context, chain []string, description string) error {
	tx, err := r.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	for _, p := range chain {
		parent := int64(regRootParent)
		if p != "/" {
			if parent, err = r.pathID(ctx, tx, path.Dir(p)); err != nil {
				return err
			}
		}
		id, err := r.pathID(ctx, tx, p)
		if err != nil {
			return err
		}
		if id == 0 {
			if id, err = r.insertPath(ctx, tx, p, parent); err != nil {
				return err
			}
		}
		uuid, err := newUUID()
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO "+r.table("REG_RESOURCE")+
			" (REG_PATH_ID, REG_NAME, REG_MEDIA_TYPE, REG_CREATOR, REG_CREATED_TIME, REG_LAST_UPDATOR, REG_LAST_UPDATED_TIME, REG_DESCRIPTION, REG_CONTENT_ID, REG_TENANT_ID, REG_UUID)"+
			" VALUES (?, NULL, NULL, ?, NOW(), ?, NOW(), ?, NULL, ?, ?)",
			id, regSystemUser, regSystemUser, description, regTenant, uuid); err != nil {
			return fmt.Errorf("insert the REG_RESOURCE row of %s: %w", p, err)
		}
	}
	return tx.Commit()
}

// insertPath adds the REG_PATH row of p and returns its id.
func (r regStore) insertPath(ctx context.Context, tx *sql.Tx, p string, parent int64) (int64, error) {
	out, err := tx.ExecContext(ctx, "INSERT INTO "+r.table("REG_PATH")+" (REG_PATH_VALUE, REG_PATH_PARENT_ID, REG_TENANT_ID) VALUES (?, ?, ?)", p, parent, regTenant)
	if err != nil {
		return 0, fmt.Errorf("insert the REG_PATH row of %s: %w", p, err)
	}
	return out.LastInsertId()
}

// newUUID returns a random (version 4) UUID, the form of REG_UUID.
func newUUID() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:]), nil
}
