//===- Parser.cpp - lexer and recursive-descent parser for .nl ------------===//
//
// Grammar: docs/language.md. Newlines end statements except inside ( ) and
// [ ]. On an error the parser reports it, skips to the end of the statement
// and goes on, so that one run reports several errors (up to
// Diagnostics::maxErrors). Recursion is bounded: nesting deeper than
// kMaxDepth is an error, never a stack overflow.
//
//===----------------------------------------------------------------------===//

#include "AST.h"

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <set>

namespace nlc::frontend {
namespace {

constexpr unsigned kMaxDepth = 200;
/// Height limit of one expression tree: long operator chains are built
/// iteratively here but walked recursively by every later stage.
constexpr unsigned kMaxTreeDepth = 1000;

enum class Tok {
  Eof,
  Newline,
  Ident,
  Number,
  LParen,
  RParen,
  LBracket,
  RBracket,
  LBrace,
  RBrace,
  Comma,
  Colon,
  Semi,
  Eq,
  Plus,
  Minus,
  Star,
  Slash,
  Caret,
  At,
  Arrow,
  String,
  Error
};

struct Token {
  Tok kind = Tok::Eof;
  Loc loc;
  std::string text;
  double number = 0;
};

const char *tokName(Tok t) {
  switch (t) {
  case Tok::Eof:
    return "end of file";
  case Tok::Newline:
    return "end of line";
  case Tok::Ident:
    return "a name";
  case Tok::Number:
    return "a number";
  case Tok::LParen:
    return "'('";
  case Tok::RParen:
    return "')'";
  case Tok::LBracket:
    return "'['";
  case Tok::RBracket:
    return "']'";
  case Tok::LBrace:
    return "'{'";
  case Tok::RBrace:
    return "'}'";
  case Tok::Comma:
    return "','";
  case Tok::Colon:
    return "':'";
  case Tok::Semi:
    return "';'";
  case Tok::Eq:
    return "'='";
  case Tok::Plus:
    return "'+'";
  case Tok::Minus:
    return "'-'";
  case Tok::Star:
    return "'*'";
  case Tok::Slash:
    return "'/'";
  case Tok::Caret:
    return "'^'";
  case Tok::At:
    return "'@'";
  case Tok::Arrow:
    return "'->'";
  case Tok::String:
    return "a string";
  case Tok::Error:
    return "an invalid character";
  }
  return "?";
}

/// Turns the source into tokens. Newlines inside ( ) or [ ] are dropped.
class Lexer {
public:
  Lexer(const std::string &src, Diagnostics &diags, unsigned fileId)
      : src(src), diags(diags), fileId(fileId) {}

  std::vector<Token> run() {
    std::vector<Token> out;
    int depth = 0;
    while (true) {
      Token t = next();
      if (t.kind == Tok::LParen || t.kind == Tok::LBracket)
        ++depth;
      if ((t.kind == Tok::RParen || t.kind == Tok::RBracket) && depth > 0)
        --depth;
      if (t.kind == Tok::Newline && depth > 0)
        continue;
      // A brace closes any open parenthesis for newline purposes, so that an
      // unbalanced '(' does not swallow the rest of the file.
      if (t.kind == Tok::LBrace || t.kind == Tok::RBrace)
        depth = 0;
      out.push_back(t);
      if (t.kind == Tok::Eof)
        return out;
    }
  }

private:
  const std::string &src;
  Diagnostics &diags;
  unsigned fileId;
  size_t pos = 0;
  unsigned line = 1, col = 1;

  char peek(size_t ahead = 0) const {
    return pos + ahead < src.size() ? src[pos + ahead] : '\0';
  }
  void advance() {
    if (src[pos] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
    ++pos;
  }

  Token make(Tok kind, Loc loc, std::string text = "") {
    Token t;
    t.kind = kind;
    t.loc = loc;
    t.text = std::move(text);
    return t;
  }

  Token next() {
    // Skip blanks and comments.
    while (pos < src.size()) {
      char c = src[pos];
      if (c == ' ' || c == '\t' || c == '\r') {
        advance();
      } else if (c == '#') {
        while (pos < src.size() && src[pos] != '\n')
          advance();
      } else {
        break;
      }
    }
    Loc loc{line, col, fileId};
    if (pos >= src.size())
      return make(Tok::Eof, loc);
    char c = src[pos];
    if (c == '\n') {
      advance();
      return make(Tok::Newline, loc);
    }
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      size_t start = pos;
      while (pos < src.size() &&
             (std::isalnum(static_cast<unsigned char>(src[pos])) ||
              src[pos] == '_'))
        advance();
      return make(Tok::Ident, loc, src.substr(start, pos - start));
    }
    if (std::isdigit(static_cast<unsigned char>(c)) ||
        (c == '.' && std::isdigit(static_cast<unsigned char>(peek(1))))) {
      size_t start = pos;
      while (std::isdigit(static_cast<unsigned char>(peek())))
        advance();
      if (peek() == '.') {
        advance();
        while (std::isdigit(static_cast<unsigned char>(peek())))
          advance();
      }
      if ((peek() == 'e' || peek() == 'E') &&
          (std::isdigit(static_cast<unsigned char>(peek(1))) ||
           ((peek(1) == '-' || peek(1) == '+') &&
            std::isdigit(static_cast<unsigned char>(peek(2)))))) {
        advance();
        if (peek() == '-' || peek() == '+')
          advance();
        while (std::isdigit(static_cast<unsigned char>(peek())))
          advance();
      }
      Token t = make(Tok::Number, loc, src.substr(start, pos - start));
      errno = 0;
      t.number = std::strtod(t.text.c_str(), nullptr);
      // Past float64's range: an overflow is infinite (refused where the
      // number is used), an underflow would silently be 0 or denormal.
      if (errno == ERANGE && std::fabs(t.number) < 1)
        diags.error(loc, "number '" + t.text +
                             "' is too small for float32 (a nonzero "
                             "magnitude must be at least 1.17549e-38)");
      return t;
    }
    if (c == '"') {
      advance();
      size_t start = pos;
      while (pos < src.size() && src[pos] != '"' && src[pos] != '\n') {
        unsigned char u = static_cast<unsigned char>(src[pos]);
        if (u < 0x20 || u >= 0x7f) {
          diags.error(Loc{line, col, fileId},
                      "invalid byte in a string (strings are printable "
                      "ASCII)");
          while (pos < src.size() && src[pos] != '\n')
            advance();
          return make(Tok::Error, loc);
        }
        advance();
      }
      if (pos >= src.size() || src[pos] != '"') {
        diags.error(loc, "unterminated string (a string ends on its line)");
        return make(Tok::Error, loc);
      }
      std::string text = src.substr(start, pos - start);
      advance();
      return make(Tok::String, loc, text);
    }
    advance();
    switch (c) {
    case '(':
      return make(Tok::LParen, loc);
    case ')':
      return make(Tok::RParen, loc);
    case '[':
      return make(Tok::LBracket, loc);
    case ']':
      return make(Tok::RBracket, loc);
    case '{':
      return make(Tok::LBrace, loc);
    case '}':
      return make(Tok::RBrace, loc);
    case ',':
      return make(Tok::Comma, loc);
    case ':':
      return make(Tok::Colon, loc);
    case ';':
      return make(Tok::Semi, loc);
    case '=':
      return make(Tok::Eq, loc);
    case '+':
      return make(Tok::Plus, loc);
    case '*':
      return make(Tok::Star, loc);
    case '/':
      return make(Tok::Slash, loc);
    case '^':
      return make(Tok::Caret, loc);
    case '@':
      return make(Tok::At, loc);
    case '-':
      if (peek() == '>') {
        advance();
        return make(Tok::Arrow, loc);
      }
      return make(Tok::Minus, loc);
    default:
      break;
    }
    // Invalid byte: report a run of them once.
    unsigned char u = static_cast<unsigned char>(c);
    std::string msg;
    if (u >= 0x80)
      msg = "non-ASCII byte in source (nl source is ASCII outside comments)";
    else if (u < 0x20 || u == 0x7f)
      msg = "invalid control character (code " + std::to_string(u) + ")";
    else
      msg = std::string("unexpected character '") + c + "'";
    diags.error(loc, msg);
    while (pos < src.size()) {
      unsigned char n = static_cast<unsigned char>(src[pos]);
      bool bad = n >= 0x80 ||
                 (n < 0x20 && n != '\n' && n != '\t' && n != '\r') ||
                 n == 0x7f ||
                 std::string("$%&!?`'~|\\<>").find(n) != std::string::npos;
      if (!bad)
        break;
      advance();
    }
    return make(Tok::Error, loc);
  }
};

/// Contextual keywords that cannot name values.
const std::set<std::string> &reserved() {
  static const std::set<std::string> words = {
      "model",     "level",     "every",     "param",  "state",
      "objective", "optimizer", "retention", "memory", "block",
      "return",    "repeat",    "in",        "tail",   "import"};
  return words;
}

class Parser {
public:
  Parser(std::vector<Token> toks, Diagnostics &diags)
      : toks(std::move(toks)), diags(diags) {}

  std::unique_ptr<File> parse() {
    auto file = std::make_unique<File>();
    while (!at(Tok::Eof) && !diags.tooMany()) {
      if (accept(Tok::Newline) || accept(Tok::Semi))
        continue;
      size_t before = idx;
      if (!parseTopLevel(*file))
        recover();
      if (idx == before) // Always make progress.
        ++idx;
    }
    return file;
  }

private:
  std::vector<Token> toks;
  Diagnostics &diags;
  size_t idx = 0;
  unsigned depth = 0;

  const Token &cur() const { return toks[std::min(idx, toks.size() - 1)]; }
  const Token &peekTok(size_t n = 1) const {
    return toks[std::min(idx + n, toks.size() - 1)];
  }
  bool at(Tok k) const { return cur().kind == k; }
  bool atWord(const char *w) const {
    return cur().kind == Tok::Ident && cur().text == w;
  }
  bool accept(Tok k) {
    if (!at(k))
      return false;
    ++idx;
    return true;
  }
  bool acceptWord(const char *w) {
    if (!atWord(w))
      return false;
    ++idx;
    return true;
  }

  /// Reports "expected X, found Y" at the current token.
  bool fail(const std::string &what) {
    const Token &t = cur();
    if (t.kind == Tok::Error) // Already reported by the lexer.
      return false;
    std::string found = t.kind == Tok::Ident || t.kind == Tok::Number
                            ? "'" + t.text + "'"
                            : tokName(t.kind);
    diags.error(t.loc, "expected " + what + ", found " + found);
    return false;
  }
  bool expect(Tok k, const std::string &what = "") {
    if (accept(k))
      return true;
    return fail(what.empty() ? tokName(k) : what);
  }
  bool expectWord(const char *w) {
    if (acceptWord(w))
      return true;
    return fail(std::string("'") + w + "'");
  }
  bool expectIdent(std::string &out, Loc &loc, const std::string &what) {
    if (!at(Tok::Ident))
      return fail(what);
    if (reserved().count(cur().text)) {
      diags.error(cur().loc, "'" + cur().text +
                                 "' is a keyword and cannot be used as " +
                                 what);
      ++idx;
      return false;
    }
    out = cur().text;
    loc = cur().loc;
    ++idx;
    return true;
  }
  /// Statements end at a newline, ';', '}' or the end of the file.
  bool endStatement() {
    if (accept(Tok::Newline) || accept(Tok::Semi) || at(Tok::RBrace) ||
        at(Tok::Eof))
      return true;
    return fail("end of line");
  }
  /// Skips to the end of the current statement (or a closing brace).
  void recover() {
    int braces = 0;
    while (!at(Tok::Eof)) {
      if (at(Tok::LBrace))
        ++braces;
      if (at(Tok::RBrace)) {
        if (braces == 0)
          return;
        --braces;
      }
      if ((at(Tok::Newline) || at(Tok::Semi)) && braces == 0) {
        ++idx;
        return;
      }
      ++idx;
    }
  }

  struct DepthGuard {
    Parser &p;
    bool ok;
    explicit DepthGuard(Parser &p) : p(p), ok(++p.depth <= kMaxDepth) {
      if (!ok && p.depth == kMaxDepth + 1)
        p.diags.error(p.cur().loc, "nesting too deep (more than " +
                                       std::to_string(kMaxDepth) +
                                       " levels of parentheses, brackets, "
                                       "braces or operators)");
    }
    ~DepthGuard() { --p.depth; }
  };

  //===--------------------------------------------------------------------===//
  // Top level
  //===--------------------------------------------------------------------===//

  bool parseTopLevel(File &file) {
    if (atWord("import")) {
      Loc loc = cur().loc;
      ++idx;
      if (!at(Tok::String))
        return fail("a file name in quotes after 'import'");
      file.imports.push_back({cur().text, loc});
      ++idx;
      return endStatement();
    }
    if (atWord("model"))
      return parseModel(file);
    if (atWord("level")) {
      auto level = std::make_unique<LevelDecl>();
      if (!parseLevel(*level))
        return false;
      file.levels.push_back(std::move(level));
      return true;
    }
    if (atWord("memory"))
      return parseMemoryDef(file);
    if (atWord("optimizer") && peekTok().kind == Tok::Ident &&
        peekTok(2).kind != Tok::Newline && peekTok(2).kind != Tok::Eof)
      return parseOptimizerDef(file);
    if (atWord("block"))
      return parseBlock(file);
    Stmt s;
    if (!parseStmt(s, /*inBlock=*/false))
      return false;
    file.stmts.push_back(std::move(s));
    return true;
  }

  bool parseModel(File &file) {
    Loc loc = cur().loc;
    ++idx;
    ModelDecl m;
    m.loc = loc;
    if (!expectIdent(m.name, m.loc, "a model name"))
      return false;
    m.loc = loc;
    if (accept(Tok::LParen) && !parseNamedArgs(m.config, Tok::RParen))
      return false;
    if (file.model) {
      diags.error(loc, "a file holds one model; '" + file.model->name +
                           "' is already declared");
      diags.note(file.model->loc, "first model declared here");
      return false;
    }
    file.model = std::move(m);
    return endStatement();
  }

  /// `name = expr, ...` up to `close` (already past the opening token).
  bool parseNamedArgs(std::vector<NamedArg> &out, Tok close) {
    DepthGuard guard(*this);
    if (!guard.ok)
      return false;
    if (accept(close))
      return true;
    do {
      NamedArg a;
      if (!expectIdent(a.name, a.loc, "a name"))
        return false;
      if (!expect(Tok::Eq, "'=' after '" + a.name + "'"))
        return false;
      a.value = parseExpr();
      if (!a.value || !unique(out, a))
        return false;
      out.push_back(std::move(a));
    } while (accept(Tok::Comma));
    return expect(close);
  }

  /// A name is given at most once in one argument list.
  bool unique(const std::vector<NamedArg> &seen, const NamedArg &a) {
    for (auto &s : seen)
      if (s.name == a.name) {
        diags.error(a.loc, "'" + a.name + "' is given twice");
        return false;
      }
    return true;
  }

  bool parseLevel(LevelDecl &level) {
    DepthGuard guard(*this);
    if (!guard.ok)
      return false;
    level.loc = cur().loc;
    ++idx; // 'level'
    Loc nameLoc;
    if (!expectIdent(level.name, nameLoc, "a level name") ||
        !expectWord("every"))
      return false;
    level.period = parseExpr();
    if (!level.period)
      return false;
    level.unitLoc = cur().loc;
    if (acceptWord("tokens") || acceptWord("token"))
      level.unit = "tokens";
    else if (acceptWord("steps") || acceptWord("step"))
      level.unit = "steps";
    else
      return fail("'tokens' or 'steps' after the update period");
    if (acceptWord("tail")) {
      level.tailLoc = cur().loc;
      if (acceptWord("flush"))
        level.tail = "flush";
      else if (acceptWord("carry"))
        level.tail = "carry";
      else
        return fail("'flush' or 'carry' after 'tail'");
    }
    if (!expect(Tok::LBrace, "'{' to open the level"))
      return false;
    while (!at(Tok::RBrace) && !at(Tok::Eof) && !diags.tooMany()) {
      if (accept(Tok::Newline) || accept(Tok::Semi))
        continue;
      size_t before = idx;
      if (!parseLevelItem(level, /*inOptimizerDef=*/false))
        recover();
      if (idx == before)
        ++idx;
    }
    return expect(Tok::RBrace, "'}' to close level '" + level.name + "'");
  }

  bool parseLevelItem(LevelDecl &level, bool inOptimizerDef) {
    if (atWord("param")) {
      ParamDecl p;
      if (!parseParam(p))
        return false;
      level.params.push_back(std::move(p));
      return endStatement();
    }
    if (atWord("state")) {
      StateDecl s;
      s.loc = cur().loc;
      ++idx;
      Loc l;
      if (!expectIdent(s.name, l, "a state name") ||
          !expect(Tok::Colon, "':' and a memory type") || !parseMemType(s.type))
        return false;
      if (acceptWord("init")) {
        if (!expectWord("learned"))
          return false;
        s.learnedInit = true;
      }
      level.states.push_back(std::move(s));
      return endStatement();
    }
    if (atWord("objective")) {
      ObjectiveDecl o;
      if (!parseObjective(o))
        return false;
      level.objectives.push_back(std::move(o));
      return endStatement();
    }
    if (atWord("retention")) {
      RetentionDecl r;
      if (!parseWordWithArgs(r.loc, r.kind, r.args,
                             "'decay', 'gate' or 'local'"))
        return false;
      level.retentions.push_back(std::move(r));
      return endStatement();
    }
    if (!inOptimizerDef && atWord("optimizer")) {
      OptimizerUse o;
      if (!parseWordWithArgs(o.loc, o.name, o.args, "an optimizer name"))
        return false;
      if (acceptWord("for")) {
        o.groupLoc = cur().loc;
        if (!expectIdent(o.group, o.groupLoc,
                         "a parameter group after 'for' (matrices)"))
          return false;
      }
      level.optimizers.push_back(std::move(o));
      return endStatement();
    }
    if (!inOptimizerDef && atWord("level")) {
      auto inner = std::make_unique<LevelDecl>();
      if (!parseLevel(*inner))
        return false;
      level.levels.push_back(std::move(inner));
      return true;
    }
    return fail(inOptimizerDef ? "'param', 'state', 'objective' or 'retention'"
                               : "'param', 'state', 'objective', 'optimizer', "
                                 "'retention' or 'level'");
  }

  /// `KEYWORD WORD [(name = value, ...)]`, e.g. `retention decay(alpha = A)`.
  bool parseWordWithArgs(Loc &loc, std::string &word,
                         std::vector<NamedArg> &args, const char *what) {
    loc = cur().loc;
    ++idx; // the keyword
    if (!at(Tok::Ident))
      return fail(what);
    word = cur().text;
    ++idx;
    return !accept(Tok::LParen) || parseNamedArgs(args, Tok::RParen);
  }

  bool parseParam(ParamDecl &p) {
    p.loc = cur().loc;
    ++idx; // 'param'
    Loc l;
    if (!expectIdent(p.name, l, "a parameter name"))
      return false;
    if (accept(Tok::Colon)) {
      p.memType.emplace();
      if (!parseMemType(*p.memType))
        return false;
    } else {
      if (!expect(Tok::LBracket, "'[' and the parameter's shape"))
        return false;
      if (!parseExprList(p.shape, Tok::RBracket))
        return false;
    }
    if (accept(Tok::Eq)) {
      if (!at(Tok::Ident))
        return fail("an initializer (zeros, ones, identity, normal(std), "
                    "uniform(bound))");
      p.init = cur().text;
      ++idx;
      if (accept(Tok::LParen)) {
        p.initScale = parseExpr();
        if (!p.initScale || !expect(Tok::RParen))
          return false;
      }
    }
    if (acceptWord("in")) {
      p.ownerLoc = cur().loc;
      if (!expectIdent(p.owner, p.ownerLoc, "a level name"))
        return false;
    }
    return true;
  }

  bool parseMemType(MemType &t) {
    t.loc = cur().loc;
    if (!at(Tok::Ident))
      return fail("a memory type (matrix(..), mlp(..) or a memory name)");
    t.kind = cur().text;
    ++idx;
    if (t.kind != "matrix" && t.kind != "mlp")
      return true; // A memory definition's name.
    if (!expect(Tok::LParen, "'(' after '" + t.kind + "'"))
      return false;
    t.in = parseExpr();
    if (!t.in || !expect(Tok::Arrow, "'->' between the key and value widths"))
      return false;
    t.out = parseExpr();
    if (!t.out)
      return false;
    if (accept(Tok::Comma))
      return parseNamedArgs(t.options, Tok::RParen);
    return expect(Tok::RParen);
  }

  bool parseObjective(ObjectiveDecl &o) {
    o.loc = cur().loc;
    ++idx;
    static const std::set<std::string> kinds = {"dot", "l2", "lp", "huber"};
    if (at(Tok::Ident) && kinds.count(cur().text) &&
        (peekTok().kind == Tok::Newline || peekTok().kind == Tok::Semi ||
         peekTok().kind == Tok::RBrace || peekTok().kind == Tok::Eof ||
         peekTok().kind == Tok::LParen)) {
      o.kind = cur().text;
      ++idx;
      if (accept(Tok::LParen) && !parseNamedArgs(o.args, Tok::RParen))
        return false;
      return true;
    }
    o.kind = "custom";
    o.expr = parseExpr();
    return o.expr != nullptr;
  }

  bool parseMemoryDef(File &file) {
    MemoryDef m;
    m.loc = cur().loc;
    ++idx;
    Loc l;
    if (!expectIdent(m.name, l, "a memory name"))
      return false;
    if (accept(Tok::Eq)) {
      m.ctor.emplace();
      if (!parseMemType(*m.ctor))
        return false;
      if (m.ctor->kind != "matrix" && m.ctor->kind != "mlp") {
        diags.error(m.ctor->loc, "expected matrix(..) or mlp(..), found '" +
                                     m.ctor->kind + "'");
        return false;
      }
      file.memories.push_back(std::move(m));
      return endStatement();
    }
    // A user-written read function.
    if (!expect(Tok::LParen, "'=' or '(' after the memory name") ||
        !expectIdent(m.arg, m.argLoc, "the key's name") ||
        !expect(Tok::Colon) || !expect(Tok::LBracket) ||
        !parseExprList(m.inShape, Tok::RBracket) || !expect(Tok::RParen) ||
        !expect(Tok::Arrow, "'->' and the value's shape") ||
        !expect(Tok::LBracket) || !parseExprList(m.outShape, Tok::RBracket))
      return false;
    if (!parseBody(m.body, /*inBlock=*/true))
      return false;
    file.memories.push_back(std::move(m));
    return true;
  }

  bool parseOptimizerDef(File &file) {
    OptimizerDef o;
    o.loc = cur().loc;
    ++idx;
    Loc l;
    if (!expectIdent(o.name, l, "an optimizer name"))
      return false;
    o.body.loc = o.loc;
    o.body.name = o.name;
    if (accept(Tok::LParen) && !parseNamedArgs(o.defaults, Tok::RParen))
      return false;
    if (acceptWord("as")) {
      o.baseLoc = cur().loc;
      if (!at(Tok::Ident))
        return fail("a built-in optimizer kind after 'as'");
      o.base = cur().text;
      ++idx;
    }
    if (!expect(Tok::LBrace, "'{' to open the optimizer's body"))
      return false;
    while (!at(Tok::RBrace) && !at(Tok::Eof) && !diags.tooMany()) {
      if (accept(Tok::Newline) || accept(Tok::Semi))
        continue;
      size_t before = idx;
      if (!parseLevelItem(o.body, /*inOptimizerDef=*/true))
        recover();
      if (idx == before)
        ++idx;
    }
    if (!expect(Tok::RBrace, "'}' to close optimizer '" + o.name + "'"))
      return false;
    file.optimizers.push_back(std::move(o));
    return true;
  }

  bool parseBlock(File &file) {
    BlockDecl b;
    b.loc = cur().loc;
    ++idx;
    Loc l;
    if (!expectIdent(b.name, l, "a block name") || !expect(Tok::LParen))
      return false;
    if (!accept(Tok::RParen)) {
      do {
        std::string p;
        Loc pl;
        if (!expectIdent(p, pl, "a parameter name"))
          return false;
        for (auto &[other, ol] : b.params)
          if (other == p) {
            diags.error(pl, "parameter '" + p + "' is given twice");
            return false;
          }
        b.params.push_back({p, pl});
      } while (accept(Tok::Comma));
      if (!expect(Tok::RParen))
        return false;
    }
    if (!parseBody(b.body, /*inBlock=*/true))
      return false;
    file.blocks.push_back(std::move(b));
    return true;
  }

  /// `{ stmt* }`
  bool parseBody(std::vector<Stmt> &body, bool inBlock) {
    DepthGuard guard(*this);
    if (!guard.ok)
      return false;
    if (!expect(Tok::LBrace, "'{'"))
      return false;
    while (!at(Tok::RBrace) && !at(Tok::Eof) && !diags.tooMany()) {
      if (accept(Tok::Newline) || accept(Tok::Semi))
        continue;
      size_t before = idx;
      Stmt s;
      if (parseStmt(s, inBlock))
        body.push_back(std::move(s));
      else
        recover();
      if (idx == before)
        ++idx;
    }
    return expect(Tok::RBrace, "'}'");
  }

  bool parseStmt(Stmt &s, bool inBlock) {
    s.loc = cur().loc;
    if (atWord("param")) {
      s.kind = Stmt::Kind::Param;
      s.param = std::make_unique<ParamDecl>();
      return parseParam(*s.param) && endStatement();
    }
    if (atWord("level")) {
      s.kind = Stmt::Kind::Level;
      s.level = std::make_unique<LevelDecl>();
      return parseLevel(*s.level);
    }
    if (atWord("return")) {
      if (!inBlock) {
        diags.error(s.loc, "'return' is only valid inside a block or a "
                           "memory read function");
        return false;
      }
      ++idx;
      s.kind = Stmt::Kind::Return;
      s.value = parseExpr();
      return s.value && endStatement();
    }
    if (at(Tok::Ident) && (reserved().count(cur().text))) {
      diags.error(cur().loc, "'" + cur().text + "' is not valid here");
      return false;
    }
    // Assignment: a, b = expr
    s.kind = Stmt::Kind::Assign;
    do {
      std::string name;
      Loc loc;
      if (!expectIdent(name, loc, "a statement (NAME = EXPR)"))
        return false;
      s.targets.push_back({name, loc});
    } while (accept(Tok::Comma));
    if (!expect(Tok::Eq, "'=' after '" + s.targets.back().first + "'"))
      return false;
    s.value = parseExpr();
    return s.value && endStatement();
  }

  //===--------------------------------------------------------------------===//
  // Expressions: + - (left), * / @ (left), unary -, ^ (right), postfix calls
  //===--------------------------------------------------------------------===//

  bool parseExprList(std::vector<ExprPtr> &out, Tok close) {
    if (accept(close))
      return true;
    do {
      ExprPtr e = parseExpr();
      if (!e)
        return false;
      out.push_back(std::move(e));
    } while (accept(Tok::Comma));
    return expect(close);
  }

  /// Computes the tree height of a new node and enforces kMaxTreeDepth.
  ExprPtr finish(ExprPtr e) {
    for (auto &a : e->args)
      e->depth = std::max(e->depth, a->depth + 1);
    for (auto &n : e->named)
      e->depth = std::max(e->depth, n.value->depth + 1);
    if (e->depth > kMaxTreeDepth) {
      diags.error(e->loc, "expression too deep (more than " +
                              std::to_string(kMaxTreeDepth) +
                              " nested operators or calls); split it into "
                              "several statements");
      return nullptr;
    }
    return e;
  }

  ExprPtr binary(char op, Loc loc, ExprPtr lhs, ExprPtr rhs) {
    auto e = std::make_unique<Expr>(Expr::Kind::Binary, loc);
    e->op = op;
    e->args.push_back(std::move(lhs));
    e->args.push_back(std::move(rhs));
    return finish(std::move(e));
  }

  ExprPtr parseExpr() {
    DepthGuard guard(*this);
    if (!guard.ok)
      return nullptr;
    ExprPtr lhs = parseTerm();
    while (lhs && (at(Tok::Plus) || at(Tok::Minus))) {
      char op = at(Tok::Plus) ? '+' : '-';
      Loc loc = cur().loc;
      ++idx;
      ExprPtr rhs = parseTerm();
      if (!rhs)
        return nullptr;
      lhs = binary(op, loc, std::move(lhs), std::move(rhs));
    }
    return lhs;
  }

  ExprPtr parseTerm() {
    ExprPtr lhs = parseUnary();
    while (lhs && (at(Tok::Star) || at(Tok::Slash) || at(Tok::At))) {
      char op = at(Tok::Star) ? '*' : at(Tok::Slash) ? '/' : '@';
      Loc loc = cur().loc;
      ++idx;
      ExprPtr rhs = parseUnary();
      if (!rhs)
        return nullptr;
      lhs = binary(op, loc, std::move(lhs), std::move(rhs));
    }
    return lhs;
  }

  // Nesting is counted once per level the user sees: a parenthesized or
  // call-argument expression (parseExpr), a unary minus, a right operand of
  // '^'; the parse functions between them add none.
  ExprPtr parseUnary() {
    if (at(Tok::Minus)) {
      DepthGuard guard(*this);
      if (!guard.ok)
        return nullptr;
      Loc loc = cur().loc;
      ++idx;
      ExprPtr operand = parseUnary();
      if (!operand)
        return nullptr;
      auto e = std::make_unique<Expr>(Expr::Kind::Unary, loc);
      e->op = '-';
      e->args.push_back(std::move(operand));
      return finish(std::move(e));
    }
    return parsePower();
  }

  ExprPtr parsePower() {
    ExprPtr base = parsePostfix();
    if (base && at(Tok::Caret)) {
      DepthGuard guard(*this);
      if (!guard.ok)
        return nullptr;
      Loc loc = cur().loc;
      ++idx;
      ExprPtr exp = parseUnary(); // right-associative
      if (!exp)
        return nullptr;
      return binary('^', loc, std::move(base), std::move(exp));
    }
    return base;
  }

  ExprPtr parsePostfix() {
    ExprPtr e = parsePrimary();
    while (e && at(Tok::LParen)) {
      if (e->kind != Expr::Kind::Name) {
        diags.error(cur().loc, "only a name can be called");
        return nullptr;
      }
      auto call = std::make_unique<Expr>(Expr::Kind::Call, e->loc);
      call->name = e->name;
      ++idx;
      if (!parseCallArgs(*call))
        return nullptr;
      e = finish(std::move(call));
    }
    return e;
  }

  bool parseCallArgs(Expr &call) {
    if (accept(Tok::RParen))
      return true;
    do {
      if (at(Tok::Ident) && peekTok().kind == Tok::Eq) {
        NamedArg a;
        a.loc = cur().loc;
        a.name = cur().text;
        idx += 2;
        a.value = parseExpr();
        if (!a.value || !unique(call.named, a))
          return false;
        call.named.push_back(std::move(a));
        continue;
      }
      if (!call.named.empty()) {
        diags.error(cur().loc, "positional argument after a named argument");
        return false;
      }
      ExprPtr arg = parseExpr();
      if (!arg)
        return false;
      call.args.push_back(std::move(arg));
    } while (accept(Tok::Comma));
    return expect(Tok::RParen, "')' to close the call to '" + call.name + "'");
  }

  ExprPtr parsePrimary() {
    const Token &t = cur();
    if (t.kind == Tok::Number) {
      auto e = std::make_unique<Expr>(Expr::Kind::Number, t.loc);
      e->number = t.number;
      ++idx;
      return e;
    }
    if (t.kind == Tok::Ident && t.text == "repeat") {
      DepthGuard guard(*this);
      if (!guard.ok)
        return nullptr;
      Loc loc = t.loc;
      ++idx;
      ExprPtr count = parsePrimary();
      if (!count)
        return nullptr;
      ExprPtr call = parsePostfix();
      if (!call)
        return nullptr;
      if (call->kind != Expr::Kind::Call) {
        diags.error(call->loc, "expected a block call after 'repeat N'");
        return nullptr;
      }
      auto e = std::make_unique<Expr>(Expr::Kind::Repeat, loc);
      e->args.push_back(std::move(count));
      e->args.push_back(std::move(call));
      return finish(std::move(e));
    }
    if (t.kind == Tok::Ident) {
      if (reserved().count(t.text)) {
        fail("an expression");
        return nullptr;
      }
      auto e = std::make_unique<Expr>(Expr::Kind::Name, t.loc);
      e->name = t.text;
      ++idx;
      return e;
    }
    if (t.kind == Tok::LParen) {
      Loc loc = t.loc;
      ++idx;
      ExprPtr first = parseExpr();
      if (!first)
        return nullptr;
      if (!at(Tok::Comma)) {
        if (!expect(Tok::RParen))
          return nullptr;
        return first;
      }
      auto tuple = std::make_unique<Expr>(Expr::Kind::Tuple, loc);
      tuple->args.push_back(std::move(first));
      while (accept(Tok::Comma)) {
        ExprPtr e = parseExpr();
        if (!e)
          return nullptr;
        tuple->args.push_back(std::move(e));
      }
      if (!expect(Tok::RParen))
        return nullptr;
      return finish(std::move(tuple));
    }
    fail("an expression");
    return nullptr;
  }
};

} // namespace

void normalizeLineEndings(std::string &source) {
  for (size_t i = 0; i < source.size(); ++i)
    if (source[i] == '\r' && (i + 1 == source.size() || source[i + 1] != '\n'))
      source[i] = '\n';
}

std::unique_ptr<File> parseFile(const std::string &source, Diagnostics &diags,
                                unsigned fileId) {
  Lexer lexer(source, diags, fileId);
  std::vector<Token> toks = lexer.run();
  Parser parser(std::move(toks), diags);
  return parser.parse();
}

} // namespace nlc::frontend
