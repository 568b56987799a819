//! The function library: one file per family, and the one table below
//! that names every function with its arity. Names are matched ignoring
//! case; any name starting with `list` is a resource list action.

mod array;
mod collection;
mod date;
mod deployment;
mod format;
mod hashing;
mod lambda;
mod logical;
mod numeric;
mod object;
mod resource;
mod string;

use serde_json::Value;

use super::ast::Call;
use super::eval::Evaluator;
use super::{Context, ExprError};

pub use hashing::unique_string_of;

/// What an eagerly evaluated function sees besides its arguments.
pub struct Invocation<'a> {
    /// The function's name as the template wrote it (`listKeys`, ...).
    pub name: &'a str,
    pub ctx: &'a dyn Context,
}

pub type EagerFn = fn(&[Value], &Invocation) -> Result<Value, ExprError>;
/// Functions that decide themselves which arguments to evaluate.
pub type LazyFn = fn(&Evaluator, &Call) -> Result<Value, ExprError>;

#[derive(Clone, Copy)]
pub enum Implementation {
    Eager(EagerFn),
    Lazy(LazyFn),
}

pub struct Function {
    pub name: &'static str,
    pub min_args: usize,
    /// `None`: any number.
    pub max_args: Option<usize>,
    pub implementation: Implementation,
}

const fn eager(
    name: &'static str,
    min_args: usize,
    max_args: Option<usize>,
    run: EagerFn,
) -> Function {
    Function {
        name,
        min_args,
        max_args,
        implementation: Implementation::Eager(run),
    }
}

const fn lazy(
    name: &'static str,
    min_args: usize,
    max_args: Option<usize>,
    run: LazyFn,
) -> Function {
    Function {
        name,
        min_args,
        max_args,
        implementation: Implementation::Lazy(run),
    }
}

const ANY: Option<usize> = None;
const fn up_to(n: usize) -> Option<usize> {
    Some(n)
}

static FUNCTIONS: &[Function] = &[
    // Strings, arrays and objects alike.
    eager("concat", 1, ANY, collection::concat),
    eager("contains", 2, up_to(2), collection::contains),
    eager("empty", 1, up_to(1), collection::empty),
    eager("first", 1, up_to(1), collection::first),
    eager("last", 1, up_to(1), collection::last),
    eager("length", 1, up_to(1), collection::length),
    eager("indexOf", 2, up_to(2), collection::index_of),
    eager("lastIndexOf", 2, up_to(2), collection::last_index_of),
    eager("skip", 2, up_to(2), collection::skip),
    eager("take", 2, up_to(2), collection::take),
    eager("intersection", 2, ANY, collection::intersection),
    eager("union", 2, ANY, collection::union),
    eager("tryGet", 2, ANY, collection::try_get),
    // Strings.
    eager("base64", 1, up_to(1), string::base64),
    eager("base64ToJson", 1, up_to(1), string::base64_to_json),
    eager("base64ToString", 1, up_to(1), string::base64_to_string),
    eager("dataUri", 1, up_to(1), string::data_uri),
    eager("dataUriToString", 1, up_to(1), string::data_uri_to_string),
    eager("endsWith", 2, up_to(2), string::ends_with),
    eager("format", 1, ANY, format::format),
    eager("guid", 1, ANY, hashing::guid),
    eager("join", 2, up_to(2), string::join),
    eager("json", 1, up_to(1), string::json),
    eager("newGuid", 0, up_to(0), string::new_guid),
    eager("padLeft", 2, up_to(3), string::pad_left),
    eager("replace", 3, up_to(3), string::replace),
    eager("split", 2, up_to(2), string::split),
    eager("startsWith", 2, up_to(2), string::starts_with),
    eager("string", 1, up_to(1), string::string),
    eager("substring", 2, up_to(3), string::substring),
    eager("toLower", 1, up_to(1), string::to_lower),
    eager("toUpper", 1, up_to(1), string::to_upper),
    eager("trim", 1, up_to(1), string::trim),
    eager("uniqueString", 1, ANY, hashing::unique_string),
    eager("uri", 2, up_to(2), string::uri),
    eager("uriComponent", 1, up_to(1), string::uri_component),
    eager(
        "uriComponentToString",
        1,
        up_to(1),
        string::uri_component_to_string,
    ),
    // Arrays.
    eager("array", 1, up_to(1), array::array),
    eager("createArray", 0, ANY, array::create_array),
    eager("flatten", 1, up_to(1), array::flatten),
    eager("indexFromEnd", 2, up_to(2), array::index_from_end),
    eager("tryIndexFromEnd", 2, up_to(2), array::try_index_from_end),
    eager("max", 1, ANY, array::max),
    eager("min", 1, ANY, array::min),
    eager("range", 2, up_to(2), array::range),
    // Objects.
    eager("createObject", 0, ANY, object::create_object),
    eager("items", 1, up_to(1), object::items),
    eager("null", 0, up_to(0), object::null),
    eager("objectKeys", 1, up_to(1), object::object_keys),
    eager("shallowMerge", 1, up_to(1), object::shallow_merge),
    // Logical and comparison.
    eager("and", 1, ANY, logical::and),
    eager("bool", 1, up_to(1), logical::bool),
    eager("coalesce", 1, ANY, logical::coalesce),
    eager("equals", 2, up_to(2), logical::equals),
    eager("false", 0, up_to(0), logical::false_),
    eager("greater", 2, up_to(2), logical::greater),
    eager("greaterOrEquals", 2, up_to(2), logical::greater_or_equals),
    lazy("if", 3, up_to(3), logical::if_),
    eager("less", 2, up_to(2), logical::less),
    eager("lessOrEquals", 2, up_to(2), logical::less_or_equals),
    eager("not", 1, up_to(1), logical::not),
    eager("or", 1, ANY, logical::or),
    eager("true", 0, up_to(0), logical::true_),
    // Numbers.
    eager("add", 2, up_to(2), numeric::add),
    eager("copyIndex", 0, up_to(2), numeric::copy_index),
    eager("div", 2, up_to(2), numeric::div),
    eager("float", 1, up_to(1), numeric::float),
    eager("int", 1, up_to(1), numeric::int_),
    eager("mod", 2, up_to(2), numeric::modulo),
    eager("mul", 2, up_to(2), numeric::mul),
    eager("sub", 2, up_to(2), numeric::sub),
    // Dates.
    eager("dateTimeAdd", 2, up_to(3), date::date_time_add),
    eager("dateTimeFromEpoch", 1, up_to(1), date::date_time_from_epoch),
    eager("dateTimeToEpoch", 1, up_to(1), date::date_time_to_epoch),
    eager("utcNow", 0, up_to(1), date::utc_now),
    // Lambdas.
    lazy("filter", 2, up_to(2), lambda::filter),
    lazy("groupBy", 2, up_to(2), lambda::group_by),
    lazy("lambda", 2, ANY, lambda::lambda),
    lazy("lambdaVariables", 1, up_to(1), lambda::lambda_variables),
    lazy("map", 2, up_to(2), lambda::map),
    lazy("mapValues", 2, up_to(2), lambda::map_values),
    lazy("reduce", 3, up_to(3), lambda::reduce),
    lazy("sort", 2, up_to(2), lambda::sort),
    lazy("toObject", 2, up_to(3), lambda::to_object),
    // Deployment and scope.
    eager("deployment", 0, up_to(0), deployment::deployment),
    eager("environment", 0, up_to(0), deployment::environment),
    eager("managementGroup", 0, up_to(1), deployment::management_group),
    eager("parameters", 1, up_to(1), deployment::parameters),
    eager("resourceGroup", 0, up_to(0), deployment::resource_group),
    eager("subscription", 0, up_to(0), deployment::subscription),
    eager("tenant", 0, up_to(0), deployment::tenant),
    eager("variables", 1, up_to(1), deployment::variables),
    // Resources.
    eager(
        "extensionResourceId",
        3,
        ANY,
        resource::extension_resource_id,
    ),
    eager(
        "managementGroupResourceId",
        2,
        ANY,
        resource::management_group_resource_id,
    ),
    eager("pickZones", 3, up_to(5), resource::pick_zones),
    eager("providers", 1, up_to(2), resource::providers),
    eager("reference", 1, up_to(3), resource::reference),
    eager("resourceId", 2, ANY, resource::resource_id),
    eager(
        "subscriptionResourceId",
        2,
        ANY,
        resource::subscription_resource_id,
    ),
    eager("tenantResourceId", 2, ANY, resource::tenant_resource_id),
];

/// Stands for every `list*` action (`listKeys`, `listSecrets`, ...).
static LIST_ACTION: Function = eager("list*", 2, up_to(3), resource::list_action);

/// The function `key` (lower-cased) names, if any.
pub fn lookup(key: &str) -> Option<&'static Function> {
    FUNCTIONS
        .iter()
        .find(|f| f.name.eq_ignore_ascii_case(key))
        .or_else(|| key.starts_with("list").then_some(&LIST_ACTION))
}

/// Every built-in function's name, as ARM spells it.
pub fn names() -> impl Iterator<Item = &'static str> {
    FUNCTIONS.iter().map(|f| f.name)
}
