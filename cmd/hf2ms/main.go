// Command hf2ms migrates model and dataset repositories between the Hugging Face Hub and
// ModelScope by streaming every file from one hub into the other. Run `hf2ms --help`.
package main

import (
	"os"

	"github.com/linaqruf/hf2ms/internal/cli"
)

func main() { os.Exit(cli.Main()) }
