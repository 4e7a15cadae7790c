package converter

import (
	"context"
	"errors"
	"fmt"

	"github.com/sluicehq/sluice/connectors/converter/schemaregistry"
)

// Schema references: a Protobuf schema importing a file other than the
// known types names, for each import, the subject and version holding it
// (Confluent's "references").

// references returns the files refs name, by import name, and theirs in
// turn: those of the schema with id.
func (c *protobufConverter) references(ctx context.Context, id int32, refs []schemaregistry.Reference) (map[string]string, error) {
	files := map[string]string{}
	var walk func(refs []schemaregistry.Reference, depth int) error
	walk = func(refs []schemaregistry.Reference, depth int) error {
		if depth > 32 {
			return errors.New("schema references nested more than 32 deep")
		}
		for _, ref := range refs {
			if _, ok := files[ref.Name]; ok {
				continue
			}
			got, err := c.sr.client.Version(ctx, ref.Subject, ref.Version)
			if err != nil {
				return fmt.Errorf("reference %s (subject %s version %d): %w", ref.Name, ref.Subject, ref.Version, err)
			}
			files[ref.Name] = got.Schema.Schema
			if err := walk(got.References, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(refs, 0); err != nil {
		return nil, fmt.Errorf("schema id %d: %w", id, err)
	}
	return files, nil
}

// registerWithKnownTypes registers a schema Sluice wrote, its imports
// (known types only) first under subjects of their names, as Confluent's
// serializer does with skip.known.types=false, and returns its id (with
// register false, looks them up).
func (c *protobufConverter) registerWithKnownTypes(ctx context.Context, subject, text string, imports []string, register bool) (int32, error) {
	post := c.sr.client.LookupSchema
	if register {
		post = c.sr.client.RegisterSchema
	}
	refs := make([]schemaregistry.Reference, 0, len(imports))
	for _, imp := range imports {
		dep, ok := knownReferences[imp]
		if !ok {
			return 0, fmt.Errorf("no text of %s to register", imp)
		}
		got, err := post(ctx, imp, schemaregistry.Schema{Type: schemaregistry.Protobuf, Schema: dep})
		if err != nil {
			return 0, err
		}
		refs = append(refs, schemaregistry.Reference{Name: imp, Subject: imp, Version: got.Version})
	}
	got, err := post(ctx, subject, schemaregistry.Schema{Type: schemaregistry.Protobuf, Schema: text, References: refs})
	return got.ID, err
}
