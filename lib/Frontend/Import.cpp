//===- Import.cpp - reading a .nl file and its imports --------------------===//

#include "AST.h"

#include <fstream>
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
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    why = "cannot open file";
    return false;
  }
  in.seekg(0, std::ios::end);
  std::streamoff size = in.tellg();
  if (size < 0) {
    why = "cannot read file";
    return false;
  }
  if (static_cast<size_t>(size) > kMaxSourceBytes) {
    why = "file is larger than 16 MiB";
    return false;
  }
  in.seekg(0);
  std::ostringstream ss;
  ss << in.rdbuf();
  out = ss.str();
  return true;
}

void loadImports(File &into, const File &from, const std::string &fromPath,
                 SourceFiles &files, Diagnostics &diags,
                 std::vector<std::string> &stack) {
  for (auto &[rel, loc] : from.imports) {
    std::string path =
        rel.empty() || rel[0] == '/' ? rel : dirOf(fromPath) + rel;
    if (stack.size() >= kMaxImportDepth) {
      diags.error(loc, "imports nested more than 16 deep");
      continue;
    }
    bool cycle = false;
    for (auto &p : stack)
      cycle |= p == path;
    if (cycle) {
      diags.error(loc, "import cycle: '" + rel + "' imports itself");
      continue;
    }
    std::string text, why;
    if (!readFile(path, text, why)) {
      diags.error(loc, "cannot import '" + rel + "': " + why);
      continue;
    }
    unsigned id = files.paths.size();
    files.paths.push_back(path);
    files.contents.push_back(text);
    std::unique_ptr<File> imported = parseFile(text, diags, id);
    stack.push_back(path);
    loadImports(into, *imported, path, files, diags, stack);
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
  std::vector<std::string> stack = {files.paths.at(0)};
  loadImports(file, file, files.paths[0], files, diags, stack);
}

} // namespace nlc::frontend
