//===- ASTPrinter.cpp - `nlc --emit=ast` ----------------------------------===//

#include "AST.h"

#include <sstream>

namespace nlc::frontend {
namespace {

class Printer {
public:
  std::ostringstream os;

  void line(int indent, const std::string &text, Loc loc) {
    os << std::string(static_cast<size_t>(indent) * 2, ' ') << text << " @"
       << loc.line << ":" << loc.col << "\n";
  }

  std::string expr(const Expr *e) {
    if (!e)
      return "<null>";
    switch (e->kind) {
    case Expr::Kind::Number: {
      std::ostringstream s;
      s << e->number;
      return s.str();
    }
    case Expr::Kind::Name:
      return e->name;
    case Expr::Kind::Unary:
      return "(-" + expr(e->args[0].get()) + ")";
    case Expr::Kind::Binary:
      return "(" + expr(e->args[0].get()) + " " + e->op + " " +
             expr(e->args[1].get()) + ")";
    case Expr::Kind::Call: {
      std::string s = e->name + "(";
      bool first = true;
      for (auto &a : e->args) {
        s += (first ? "" : ", ") + expr(a.get());
        first = false;
      }
      for (auto &n : e->named) {
        s += (first ? "" : ", ") + n.name + " = " + expr(n.value.get());
        first = false;
      }
      return s + ")";
    }
    case Expr::Kind::Tuple: {
      std::string s = "(";
      for (size_t i = 0; i < e->args.size(); ++i)
        s += (i ? ", " : "") + expr(e->args[i].get());
      return s + ")";
    }
    case Expr::Kind::Repeat:
      return "repeat " + expr(e->args[0].get()) + " " + expr(e->args[1].get());
    }
    return "?";
  }

  std::string args(const std::vector<NamedArg> &as) {
    std::string s;
    for (size_t i = 0; i < as.size(); ++i)
      s += (i ? ", " : "") + as[i].name + " = " + expr(as[i].value.get());
    return s;
  }

  std::string memType(const MemType &t) {
    if (!t.in)
      return t.kind;
    std::string s =
        t.kind + "(" + expr(t.in.get()) + " -> " + expr(t.out.get());
    if (!t.options.empty())
      s += ", " + args(t.options);
    return s + ")";
  }

  void param(int indent, const ParamDecl &p) {
    std::string s = "Param " + p.name + " ";
    if (p.memType) {
      s += ": " + memType(*p.memType);
    } else {
      s += "[";
      for (size_t i = 0; i < p.shape.size(); ++i)
        s += (i ? ", " : "") + expr(p.shape[i].get());
      s += "]";
    }
    if (!p.init.empty())
      s += " = " + p.init +
           (p.initScale ? "(" + expr(p.initScale.get()) + ")" : std::string());
    if (!p.owner.empty())
      s += " in " + p.owner;
    line(indent, s, p.loc);
  }

  void level(int indent, const LevelDecl &l) {
    line(indent,
         "Level " + l.name + " every " + expr(l.period.get()) + " " + l.unit +
             (l.tail.empty() ? "" : " tail " + l.tail),
         l.loc);
    levelBody(indent + 1, l);
  }

  void levelBody(int indent, const LevelDecl &l) {
    for (auto &p : l.params)
      param(indent, p);
    for (auto &s : l.states)
      line(indent,
           "State " + s.name + " : " + memType(s.type) +
               (s.learnedInit ? " init learned" : ""),
           s.loc);
    for (auto &o : l.objectives)
      line(indent,
           "Objective " + o.kind +
               (o.expr ? " " + expr(o.expr.get())
                       : (o.args.empty() ? "" : "(" + args(o.args) + ")")),
           o.loc);
    for (auto &o : l.optimizers)
      line(indent,
           "Optimizer " + o.name + "(" + args(o.args) + ")" +
               (o.group.empty() ? "" : " for " + o.group),
           o.loc);
    for (auto &r : l.retentions)
      line(indent,
           "Retention " + r.kind +
               (r.args.empty() ? "" : "(" + args(r.args) + ")"),
           r.loc);
    for (auto &inner : l.levels)
      level(indent, *inner);
  }

  void stmts(int indent, const std::vector<Stmt> &body) {
    for (auto &s : body) {
      switch (s.kind) {
      case Stmt::Kind::Assign: {
        std::string t;
        for (size_t i = 0; i < s.targets.size(); ++i)
          t += (i ? ", " : "") + s.targets[i].first;
        line(indent, "Assign " + t + " = " + expr(s.value.get()), s.loc);
        break;
      }
      case Stmt::Kind::Return:
        line(indent, "Return " + expr(s.value.get()), s.loc);
        break;
      case Stmt::Kind::Param:
        param(indent, *s.param);
        break;
      case Stmt::Kind::Level:
        level(indent, *s.level);
        break;
      }
    }
  }
};

} // namespace

std::string printAST(const File &file) {
  Printer p;
  if (file.model)
    p.line(0,
           "Model " + file.model->name + "(" + p.args(file.model->config) + ")",
           file.model->loc);
  for (auto &l : file.levels)
    p.level(0, *l);
  for (auto &m : file.memories) {
    if (m.ctor) {
      p.line(0, "Memory " + m.name + " = " + p.memType(*m.ctor), m.loc);
      continue;
    }
    p.line(0, "Memory " + m.name + "(" + m.arg + ") read function", m.loc);
    p.stmts(1, m.body);
  }
  for (auto &o : file.optimizers) {
    p.line(0,
           "OptimizerDef " + o.name + "(" + p.args(o.defaults) + ")" +
               (o.base.empty() ? "" : " as " + o.base),
           o.loc);
    p.levelBody(1, o.body);
  }
  for (auto &b : file.blocks) {
    std::string ps;
    for (size_t i = 0; i < b.params.size(); ++i)
      ps += (i ? ", " : "") + b.params[i].first;
    p.line(0, "Block " + b.name + "(" + ps + ")", b.loc);
    p.stmts(1, b.body);
  }
  if (!file.stmts.empty()) {
    p.os << "Step\n";
    p.stmts(1, file.stmts);
  }
  return p.os.str();
}

} // namespace nlc::frontend
