package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/khula-cop/khula/internal/app"
	"github.com/khula-cop/khula/internal/codec"
	"github.com/khula-cop/khula/internal/store"
)

func newKeysCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "keys",
		Short: "Make and rotate the keys that seal payloads and personal fields",
		Long: `The keyring ($KHULA_PAYLOAD_KEYS or --payload-keys-file) seals Temporal
payloads and the personal fields of the database. To rotate: make a key
with "khula keys new ID", put it first in the keyring (it becomes the
active key) keeping the old ones, restart khula, then run "khula keys
rotate" to re-seal the database under the new key. Keep the old keys for
as long as workflow histories sealed with them are retained.`,
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "new ID",
		Short: "Print a new random key as ID:BASE64, to add to the keyring",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			k, err := codec.NewKey(args[0])
			if err != nil {
				return &ExitError{Code: 2, Err: err}
			}
			fmt.Fprintln(g.stdout, k)
			return nil
		},
	})
	var f connFlags
	var batch int
	rotate := &cobra.Command{
		Use:   "rotate",
		Short: "Re-seal every personal field in the database with the keyring's active key, showing progress",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			keys, err := app.LoadKeys(f.keysFile)
			if err != nil {
				return err
			}
			dsn, err := f.dsn()
			if err != nil {
				return err
			}
			st, err := store.Open(ctx, dsn)
			if err != nil {
				return err
			}
			defer st.Close()
			st.SetFieldCipher(keys)
			fmt.Fprintf(g.stdout, "re-sealing personal fields with key %s (keys in the keyring: %v)\n", keys.ActiveID(), keys.IDs())
			n, err := st.RotateFields(ctx, keys.ActiveID(), batch, func(done, total int) {
				fmt.Fprintf(g.stdout, "  %d of %d rows (%d%%)\n", done, total, 100*done/max(total, 1))
			})
			if err != nil {
				return fmt.Errorf("after %d rows: %w (run again to continue)", n, err)
			}
			fmt.Fprintf(g.stdout, "done: %d rows re-sealed; rows already under %s were left alone\n", n, keys.ActiveID())
			return nil
		},
	}
	f.addStore(rotate.Flags())
	rotate.Flags().IntVar(&batch, "batch", 500, "rows per transaction")
	cmd.AddCommand(rotate)
	return cmd
}
