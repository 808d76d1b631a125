package msclient

import (
	"path"
	"strings"

	"github.com/linaqruf/hf2ms/pkg/hubkit"
)

// ModelScope has no preupload endpoint: the official SDK decides per file whether it travels as
// an LFS blob or inline in the commit (modelscope_hub `_upload.py`/`utils` upload-mode rules;
// modelscope `hub/utils/utils.py`). WantsLFS applies the same rule.

// InlineThreshold is the size above which the SDK uploads a file as LFS ("LFS if size > 64 KiB
// or suffix in list").
const InlineThreshold = 64 << 10

// inlineNames are the metadata files the SDK always commits inline.
var inlineNames = map[string]bool{
	"README.md": true, ".gitattributes": true, ".gitignore": true,
	"configuration.json": true, "configuration.yaml": true, "configuration.yml": true,
	"dataset_infos.json": true, "config.json": true,
}

// inlineSuffixes are metadata suffixes always committed inline.
var inlineSuffixes = map[string]bool{".msc": true, ".mdl": true}

// lfsSuffixes are the suffixes the SDK always stores as LFS.
var lfsSuffixes = map[string]bool{
	".7z": true, ".arrow": true, ".bin": true, ".bz2": true, ".ckpt": true, ".ftz": true, ".gz": true,
	".h5": true, ".joblib": true, ".mlmodel": true, ".model": true, ".msgpack": true, ".npy": true,
	".npz": true, ".onnx": true, ".ot": true, ".parquet": true, ".pb": true, ".pickle": true,
	".pkl": true, ".pt": true, ".pth": true, ".rar": true, ".safetensors": true, ".tar": true,
	".tflite": true, ".tgz": true, ".wasm": true, ".xz": true, ".zip": true, ".zst": true,
}

// datasetLFSSuffixes are added for datasets (audio, image and video types, and jsonl).
var datasetLFSSuffixes = map[string]bool{
	".jpg": true, ".jpeg": true, ".png": true, ".gif": true, ".bmp": true, ".tif": true, ".tiff": true,
	".webp": true, ".wav": true, ".mp3": true, ".flac": true, ".ogg": true, ".m4a": true, ".aac": true,
	".mp4": true, ".avi": true, ".mkv": true, ".mov": true, ".webm": true, ".jsonl": true,
}

// WantsLFS reports whether a file of this repo type, path and size should be uploaded as an LFS
// blob rather than inline: metadata files inline; otherwise LFS above InlineThreshold or for the
// SDK's LFS suffixes (datasets add media types); empty files inline. Anything above
// MaxCommitInlineBytes goes to LFS, metadata included, since it could not travel in a commit.
func WantsLFS(t hubkit.RepoType, p string, size int64) bool {
	base := path.Base(p)
	ext := strings.ToLower(path.Ext(base))
	switch {
	case size == 0:
		return false
	case size > MaxCommitInlineBytes:
		return true
	case inlineNames[base], inlineSuffixes[ext]:
		return false
	case size > InlineThreshold, lfsSuffixes[ext]:
		return true
	}
	return t == hubkit.Dataset && datasetLFSSuffixes[ext]
}
