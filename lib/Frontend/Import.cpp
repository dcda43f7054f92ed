//===- Import.cpp - reading a .nl file and its imports --------------------===//

#include "AST.h"

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

namespace nlc::frontend {
namespace {

constexpr size_t kMaxSourceBytes = 16u << 20;
constexpr unsigned kMaxImportDepth = 16;

std::string dirOf(const std::string &path) {
  size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? "" : path.substr(0, slash + 1);
}

bool readFile(const std::string &path, std::string &out, std::string &why) {
  std::error_code ec;
  auto status = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(status)) {
    why = "no such file";
    return false;
  }
  if (std::filesystem::is_directory(status)) {
    why = "it is a directory; import names a .nl file";
    return false;
  }
  if (!std::filesystem::is_regular_file(status)) {
    why = "not a regular file";
    return false;
  }
  auto size = std::filesystem::file_size(path, ec);
  if (ec || size > kMaxSourceBytes) {
    why = ec ? "cannot read its size" : "file is larger than 16 MiB";
    return false;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    why = "cannot open file";
    return false;
  }
  // To the end, not by the size it reports: a file of /proc reports 0 and
  // was read as empty.
  out.clear();
  char chunk[65536];
  while (in && out.size() <= kMaxSourceBytes) {
    in.read(chunk, sizeof chunk);
    out.append(chunk, static_cast<size_t>(in.gcount()));
  }
  if (in.bad()) {
    why = "cannot read file";
    return false;
  }
  if (out.size() > kMaxSourceBytes) {
    why = "file is larger than 16 MiB";
    return false;
  }
  normalizeLineEndings(out);
  return true;
}

/// A path that names the same file however it is spelled (cycle checks).
std::string canonical(const std::string &path) {
  std::error_code ec;
  auto c = std::filesystem::weakly_canonical(path, ec);
  return ec ? path : c.string();
}

// `fromPath` is taken by value: `files.paths` grows while it is used.
void loadImports(File &into, const File &from, std::string fromPath,
                 SourceFiles &files, Diagnostics &diags,
                 std::vector<std::string> &stack,
                 std::set<std::string> &loaded) {
  for (auto &[rel, loc] : from.imports) {
    std::string path =
        rel.empty() || rel[0] == '/' ? rel : dirOf(fromPath) + rel;
    if (stack.size() >= kMaxImportDepth) {
      diags.error(loc, "imports nested more than 16 deep");
      continue;
    }
    bool cycle = false;
    for (auto &p : stack)
      cycle |= p == canonical(path);
    if (cycle) {
      diags.error(loc, "import cycle: '" + rel + "' imports itself");
      continue;
    }
    if (!loaded.insert(canonical(path)).second)
      continue; // already imported: its definitions are there

    std::string text, why;
    if (!readFile(path, text, why)) {
      diags.error(loc, "cannot import '" + rel + "': " + why);
      continue;
    }
    unsigned id = files.paths.size();
    files.paths.push_back(path);
    files.contents.push_back(text);
    std::unique_ptr<File> imported = parseFile(text, diags, id);
    stack.push_back(canonical(path));
    loadImports(into, *imported, path, files, diags, stack, loaded);
    stack.pop_back();
    for (auto &m : imported->memories)
      into.memories.push_back(std::move(m));
    for (auto &o : imported->optimizers)
      into.optimizers.push_back(std::move(o));
    for (auto &b : imported->blocks)
      into.blocks.push_back(std::move(b));
  }
}

} // namespace

void resolveImports(File &file, SourceFiles &files, Diagnostics &diags) {
  std::vector<std::string> stack = {canonical(files.paths.at(0))};
  std::set<std::string> loaded = {stack[0]};
  loadImports(file, file, files.paths[0], files, diags, stack, loaded);
}

} // namespace nlc::frontend
