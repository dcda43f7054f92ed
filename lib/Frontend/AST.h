//===- AST.h - the abstract syntax tree of .nl files ------------*- C++ -*-===//
//
// The .nl language (docs/language.md). The lexer, parser and AST are plain
// C++17 with no MLIR dependency, so the parser can be fuzzed on its own
// (test/Fuzz). MLIRGen turns the AST into the nl dialect.
//
//===----------------------------------------------------------------------===//

#ifndef NL_FRONTEND_AST_H
#define NL_FRONTEND_AST_H

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace nlc::frontend {

/// A position in the source: 1-based line and column (in bytes).
struct Loc {
  unsigned line = 0, col = 0;
  unsigned file = 0; // index into SourceFiles::paths
};

/// The files of one compilation: the main file (0) and its imports.
struct SourceFiles {
  std::vector<std::string> paths;
  std::vector<std::string> contents;
};

/// Collects diagnostics; the driver renders them as `file:line:col: error:`
/// with the source line and a caret.
struct Diagnostics {
  struct Entry {
    Loc loc;
    bool isError;
    std::string message;
  };
  std::vector<Entry> entries;
  unsigned numErrors = 0;
  /// Stop reporting (and parsing) after this many errors.
  unsigned maxErrors = 20;

  void error(Loc loc, std::string message) {
    if (numErrors < maxErrors)
      entries.push_back({loc, true, std::move(message)});
    ++numErrors;
  }
  void note(Loc loc, std::string message) {
    if (numErrors <= maxErrors)
      entries.push_back({loc, false, std::move(message)});
  }
  bool tooMany() const { return numErrors >= maxErrors; }
};

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

/// `name = value` in calls, configs and constructor options.
struct NamedArg {
  Loc loc;
  std::string name;
  ExprPtr value;
  std::string setFlag; // `NAME=VALUE` of `nlc --set` that replaced the value
};

struct Expr {
  enum class Kind { Number, Name, Unary, Binary, Call, Tuple, Repeat };
  Kind kind;
  Loc loc;
  double number = 0;           // Number
  std::string name;            // Name; Call: the callee
  char op = 0;                 // Unary: '-'; Binary: + - * / ^ @
  std::vector<ExprPtr> args;   // operands, call arguments, tuple elements;
                               // Repeat: args[0] = count, args[1] = the call
  std::vector<NamedArg> named; // Call: named arguments
  unsigned depth = 1;          // height of this expression tree

  Expr(Kind kind, Loc loc) : kind(kind), loc(loc) {}
};

/// `matrix(IN -> OUT, opts)`, `mlp(IN -> OUT, hidden = H, act = silu)`, or
/// the name of a `memory` definition.
struct MemType {
  Loc loc;
  std::string kind; // "matrix", "mlp", or a memory definition's name
  ExprPtr in, out;  // null for a name
  std::vector<NamedArg> options;
};

/// `param NAME [d1, d2] = init in LEVEL` or `param NAME : MEMTYPE`.
struct ParamDecl {
  Loc loc;
  std::string name;
  std::vector<ExprPtr> shape;
  std::optional<MemType> memType;
  std::string init; // "", zeros, ones, identity, normal, uniform
  ExprPtr initScale;
  std::string owner; // "in LEVEL"; empty: the default owner
  Loc ownerLoc;
};

/// `state NAME : MEMTYPE [init learned]`.
struct StateDecl {
  Loc loc;
  std::string name;
  MemType type;
  bool learnedInit = false;
};

/// `objective l2`, `objective lp(p = 3)`, `objective EXPR`.
struct ObjectiveDecl {
  Loc loc;
  std::string kind; // dot, l2, lp, huber, custom
  std::vector<NamedArg> args;
  ExprPtr expr; // custom
};

/// `optimizer NAME(args)`: a built-in kind or an `optimizer` definition.
struct OptimizerUse {
  Loc loc;
  std::string name;
  std::vector<NamedArg> args;
  /// `for GROUP`: the parameters of the level it writes instead of the
  /// level's optimizer ("matrices"), or "" for the level's optimizer.
  std::string group;
  Loc groupLoc;
};

/// `retention decay(alpha = A)`, `retention gate`, `retention local(lambda =
/// L)`.
struct RetentionDecl {
  Loc loc;
  std::string kind;
  std::vector<NamedArg> args;
};

struct LevelDecl {
  Loc loc;
  std::string name;
  ExprPtr period;
  Loc unitLoc;
  std::string unit; // tokens or steps
  std::string tail; // "", flush, carry
  Loc tailLoc;      // of the word after `tail`
  std::vector<ParamDecl> params;
  std::vector<StateDecl> states;
  std::vector<ObjectiveDecl> objectives;
  std::vector<OptimizerUse> optimizers;
  std::vector<RetentionDecl> retentions;
  std::vector<std::unique_ptr<LevelDecl>> levels;
};

struct Stmt {
  enum class Kind { Assign, Param, Level, Return };
  Kind kind;
  Loc loc;
  std::vector<std::pair<std::string, Loc>> targets; // Assign
  ExprPtr value;                                    // Assign, Return
  std::unique_ptr<ParamDecl> param;                 // Param
  std::unique_ptr<LevelDecl> level;                 // Level
};

/// `block NAME(a, b) { stmts; return EXPR }`: instantiated at each call.
struct BlockDecl {
  Loc loc;
  std::string name;
  std::vector<std::pair<std::string, Loc>> params;
  std::vector<Stmt> body;
};

/// `memory NAME = CTOR` or a read function written by the user:
/// `memory NAME(x: [IN]) -> [OUT] { param W [..]; return EXPR }`.
struct MemoryDef {
  Loc loc;
  std::string name;
  std::optional<MemType> ctor;
  std::string arg;
  Loc argLoc;
  std::vector<ExprPtr> inShape, outShape;
  std::vector<Stmt> body;
};

/// `optimizer NAME(defaults) { state ..; objective ..; retention .. }`: an
/// optimizer written as a level (its momentum is a memory).
struct OptimizerDef {
  Loc loc;
  std::string name;
  std::string base; // `as KIND`: a built-in kind this definition refines
  Loc baseLoc;
  std::vector<NamedArg> defaults;
  LevelDecl body; // only params, states, objective, retention
};

struct ModelDecl {
  Loc loc;
  std::string name;
  std::vector<NamedArg> config;
};

struct File {
  std::vector<std::pair<std::string, Loc>> imports; // `import "path"`
  std::optional<ModelDecl> model;
  std::vector<std::unique_ptr<LevelDecl>> levels;
  std::vector<MemoryDef> memories;
  std::vector<OptimizerDef> optimizers;
  std::vector<BlockDecl> blocks;
  std::vector<Stmt> stmts; // the step: top-level statements in order
};

/// Replaces each carriage return that does not start a CRLF pair (the line
/// ending of old Mac files) by a line feed, in place and byte for byte, so
/// that the lexer, the diagnostics' source lines and every offset agree
/// that such a file has lines. CRLF files are left as they are (the lexer
/// skips the CR).
void normalizeLineEndings(std::string &source);

/// Parses `source`; every Loc gets `fileId`. Returns the AST, which is
/// partial when `diags.numErrors > 0`. Does no I/O (imports are recorded,
/// not loaded).
std::unique_ptr<File> parseFile(const std::string &source, Diagnostics &diags,
                                unsigned fileId = 0);

/// Loads, recursively, the files that `file` (files.paths[0]) imports (paths
/// relative to the importing file) and appends their definitions (memory,
/// optimizer and block definitions) to `file`; their models, levels and
/// statements are ignored. Cycles and import depths over 16 are errors.
/// Every file read is added to `files`.
void resolveImports(File &file, SourceFiles &files, Diagnostics &diags);

/// Prints the AST as an indented tree (`nlc --emit=ast`).
std::string printAST(const File &file);

} // namespace nlc::frontend

#endif // NL_FRONTEND_AST_H
