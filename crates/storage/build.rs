//! With a prebuilt static RocksDB (`ROCKSDB_LIB_DIR` and `ROCKSDB_STATIC`, e.g. a
//! `librocksdb.a` kept from an earlier build to skip the C++ compile), `librocksdb-sys`
//! links `librocksdb.a` but not the C++ standard library it needs (it adds that only
//! when it compiles RocksDB itself): link it here.

fn main() {
    println!("cargo:rerun-if-env-changed=ROCKSDB_LIB_DIR");
    if std::env::var_os("ROCKSDB_LIB_DIR").is_some() {
        let target = std::env::var("TARGET").unwrap_or_default();
        if target.contains("apple") || target.contains("freebsd") {
            println!("cargo:rustc-link-lib=dylib=c++");
        } else if !target.contains("windows") {
            println!("cargo:rustc-link-lib=dylib=stdc++");
        }
    }
}
