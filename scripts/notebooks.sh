#!/usr/bin/env bash
# Executes every notebooks/*.ipynb headless with the gonb Go kernel, then
# checks the executed notebooks with a Go test (no cell error, pictures
# present, final loss below a bound). Executed notebooks go to out/notebooks/;
# the committed ones stay without outputs.
#
# Installs what is missing first, and only that: the Go modules and data
# (scripts/deps.sh), Debian's Jupyter, and the gonb kernel with goimports,
# built at the versions pinned in tools/go.mod into .tools/bin/ and declared
# to Jupyter in .tools/jupyter/ (nothing is written to $HOME). Safe to run
# repeatedly. To use the kernel interactively afterwards:
#   JUPYTER_PATH=$PWD/.tools/jupyter PATH=$PWD/.tools/bin:$PATH jupyter notebook notebooks/
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
TOOLS=$ROOT/.tools
OUT=$ROOT/out/notebooks

# The Go modules and data, and Debian's Jupyter (nbconvert executes the
# notebooks; notebook for interactive use).
bash scripts/deps.sh jupyter-notebook jupyter-nbconvert

# gonb and goimports (gonb runs it on every cell), rebuilt when missing or when
# tools/go.mod or tools/go.sum changed. gopls (auto-complete) is not needed headless.
export PATH=$TOOLS/bin:$PATH
if [ ! -x "$TOOLS/bin/gonb" ] || [ ! -x "$TOOLS/bin/goimports" ] ||
	[ tools/go.mod -nt "$TOOLS/bin/gonb" ] || [ tools/go.sum -nt "$TOOLS/bin/gonb" ]; then
	echo "notebooks: building gonb and goimports (tools/go.mod) into .tools/bin"
	(cd tools && go build -o "$TOOLS/bin/" github.com/janpfeifer/gonb golang.org/x/tools/cmd/goimports)
fi

# The kernel spec (.tools/jupyter/kernels/gonb/kernel.json). The kernel reports
# cell errors as plain text and keeps its own log quiet (nbconvert prints the
# failing cell and its error); to see the log, install it without the --log* flags.
export JUPYTER_DATA_DIR=$TOOLS/jupyter
KERNEL_JSON=$JUPYTER_DATA_DIR/kernels/gonb/kernel.json
if [ ! -f "$KERNEL_JSON" ] || [ "$TOOLS/bin/gonb" -nt "$KERNEL_JSON" ] ||
	! grep -qF "\"$TOOLS/bin/gonb\"" "$KERNEL_JSON"; then
	gonb --install --force_deps --raw_error --logtostderr=false --log_file=/dev/null --stderrthreshold=FATAL
fi

# Execute every notebook. The notebooks find this working tree through
# WOWFLOW_ROOT (without it: the directory above the notebook).
export WOWFLOW_ROOT=$ROOT
rm -rf "$OUT"
mkdir -p "$OUT"
failed=()
for nb in notebooks/*.ipynb; do
	start=$SECONDS
	if jupyter nbconvert --to notebook --execute --ExecutePreprocessor.timeout=600 \
		--output-dir "$OUT" --log-level=WARN "$nb"; then
		echo "notebooks: $nb executed in $((SECONDS - start)) s"
	else
		echo "notebooks: $nb FAILED after $((SECONDS - start)) s" >&2
		failed+=("$nb")
	fi
done
if ((${#failed[@]})); then
	echo "notebooks: failed: ${failed[*]}" >&2
	exit 1
fi

# Check the outputs; missing or stale executed notebooks fail in this mode.
WOWFLOW_NOTEBOOKS_EXECUTED=$OUT go test -count=1 -v -run 'Notebooks$' ./notebooks/
