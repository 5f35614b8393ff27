//! The syntax tree of PocketBase's filter language, as the parser produces it.

/// A whole filter: comparisons joined by `&&` and `||`, grouped by parentheses.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Compare {
        left: Operand,
        op: CompareOp,
        right: Operand,
    },
}

/// One side of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    Text(String),
    Number(f64),
    Bool(bool),
    Null,
    /// A field path: record fields, `@request.*`, `@collection.*`, optionally with a modifier.
    Path(Path),
    /// A datetime macro such as `@now` or `@todayStart`.
    Macro(DateMacro),
    /// A function call such as `geoDistance(lonA, latA, lonB, latB)`.
    Call {
        function: Function,
        args: Vec<Operand>,
    },
}

/// Where a path starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathRoot {
    /// The record's own fields (and, through relations, related records').
    Record,
    /// `@request.auth.*`
    RequestAuth,
    /// `@request.body.*`
    RequestBody,
    /// `@request.query.*`
    RequestQuery,
    /// `@request.headers.*`
    RequestHeaders,
    /// `@request.method`
    RequestMethod,
    /// `@request.context`
    RequestContext,
    /// `@collection.NAME.*` (any record of another collection).
    Collection { name: String, alias: Option<String> },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Path {
    pub root: PathRoot,
    /// Field names after the root, e.g. `author`, `name` for `author.name`.
    pub segments: Vec<String>,
    pub modifier: Option<Modifier>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Modifier {
    /// `:isset`: whether the request sent the field.
    IsSet,
    /// `:changed`: whether the request changes the field.
    Changed,
    /// `:length`: the number of items of a multi-value field.
    Length,
    /// `:each`: every item of a multi-value field must match.
    Each,
    /// `:lower`: compare lowercased.
    Lower,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateMacro {
    Now,
    Yesterday,
    Tomorrow,
    Second,
    Minute,
    Hour,
    Weekday,
    Day,
    Month,
    Year,
    TodayStart,
    TodayEnd,
    MonthStart,
    MonthEnd,
    YearStart,
    YearEnd,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    GeoDistance,
    Strftime,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareKind {
    Eq,
    NotEq,
    Greater,
    GreaterOrEq,
    Less,
    LessOrEq,
    /// `~`: contains (SQL `LIKE %x%`, or the pattern itself when it has `%`).
    Like,
    /// `!~`: does not contain.
    NotLike,
}

/// A comparison operator; `any_of` is the `?` form (`?=`, `?>`, ...): at least one item of a
/// multi-value operand matches, where the plain form needs all of them to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompareOp {
    pub kind: CompareKind,
    pub any_of: bool,
}

/// One key of a list's `sort` parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SortKey {
    pub target: SortTarget,
    pub descending: bool,
}

/// What a sort key orders by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SortTarget {
    /// A record field, or a path through relations (`author.name`).
    Field(Vec<String>),
    /// `@random`.
    Random,
    /// `@rowid`: creation order.
    RowId,
}
