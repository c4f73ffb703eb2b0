package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/keyplane/keyplane"
)

// readCredentialFile reads an uploaded credential file, refusing one
// larger than the server takes before anything is sent.
func readCredentialFile(name string) ([]byte, error) {
	if name == "" {
		return nil, &usageError{err: fmt.Errorf("--file: required, the credential file to upload")}
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("--file: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, keyplane.MaxPushFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("--file %s: %w", name, err)
	}
	if len(b) > keyplane.MaxPushFileBytes {
		return nil, fmt.Errorf("--file %s: larger than 64 KiB; a credential file is a few KiB at most", name)
	}
	return b, nil
}

func (a *apiCLI) configUploadAPNs() *cobra.Command {
	var teamID, keyID, file string
	cmd := &cobra.Command{
		Use:   "upload-apns KEYSET_ID --team-id ID --auth-key-id ID --file AuthKey_ID.p8",
		Short: "Upload a keyset's APNs token key (.p8) and turn APNs on",
		Long: `Upload a keyset's Apple Push Notification service token key: the .p8 file
Apple's Developer account downloads, with the team id and the key id shown
beside it. It replaces any key uploaded before and turns APNs on. The key is
stored sealed and can never be read back; the configuration shows its ids
and file name.`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			key, err := readCredentialFile(file)
			if err != nil {
				return err
			}
			c, err := a.connect(cmd)
			if err != nil {
				return err
			}
			got, err := c.UploadAPNs(cmd.Context(), args[0], teamID, keyID, filepath.Base(file), key)
			if err != nil {
				return err
			}
			return a.print(cmd, got, func(tw *tabwriter.Writer) {
				fmt.Fprintln(tw, "TEAM ID\tAUTH KEY ID\tFILE")
				fmt.Fprintf(tw, "%s\t%s\t%s\n", got.TeamID, got.AuthKeyID, got.Filename)
			})
		},
	}
	cmd.Flags().StringVar(&teamID, "team-id", "", "Apple team id (10 letters or digits)")
	cmd.Flags().StringVar(&keyID, "auth-key-id", "", "the key's id (10 letters or digits)")
	cmd.Flags().StringVar(&file, "file", "", "the .p8 file")
	return cmd
}

func (a *apiCLI) configUploadFCM() *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "upload-fcm KEYSET_ID --file SERVICE_ACCOUNT.json",
		Short: "Upload a keyset's FCM service-account file",
		Long: `Upload a keyset's Firebase Cloud Messaging credentials: the service-account
JSON Google's console downloads. It replaces any file uploaded before, is
stored sealed and can never be read back; the configuration shows its name.`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			sa, err := readCredentialFile(file)
			if err != nil {
				return err
			}
			c, err := a.connect(cmd)
			if err != nil {
				return err
			}
			got, err := c.UploadFCM(cmd.Context(), args[0], filepath.Base(file), sa)
			if err != nil {
				return err
			}
			return a.print(cmd, got, func(tw *tabwriter.Writer) {
				fmt.Fprintln(tw, "FILE")
				fmt.Fprintln(tw, got.Filename)
			})
		},
	}
	cmd.Flags().StringVar(&file, "file", "", "the service-account JSON file")
	return cmd
}
