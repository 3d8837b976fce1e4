// Completes package-lock.json with the platform-specific optional packages (other operating
// systems' and CPUs' builds of rollup, msgpackr-extract, ...) that `npm install` leaves out when
// its registry does not serve them. `npm ci` refuses a lockfile without them, even though it never
// installs them on this platform. Each entry gets the version its parent asks for and the os/cpu/libc
// read from its name, so `npm ci` skips it where it does not apply.
//
//   npm run lock     (after any change to the dependencies)
import { readFileSync, writeFileSync } from "node:fs"
const file = process.argv[2] ?? "package-lock.json"
const lock = JSON.parse(readFileSync(file, "utf8"))
const packages = lock.packages
const os = ["aix", "android", "darwin", "freebsd", "linux", "netbsd", "openbsd", "openharmony", "sunos", "win32"]
const cpus = ["arm64", "arm", "ia32", "loong64", "mips64el", "ppc64", "riscv64", "s390x", "x64"]
let added = 0
for (const [path, meta] of Object.entries(packages)) {
  for (const [name, version] of Object.entries(meta.optionalDependencies ?? {})) {
    const key = `node_modules/${name}`
    if (packages[key] || packages[`${path}/node_modules/${name}`]) continue
    const parts = name.split("/").pop().split("-")
    const entry = { version, optional: true }
    const o = parts.find((p) => os.includes(p)); if (o) entry.os = [o]
    const c = parts.find((p) => cpus.includes(p)) ?? (parts.includes("x64") ? "x64" : undefined); if (c) entry.cpu = [c]
    if (parts.includes("musl")) entry.libc = ["musl"]
    else if (parts.includes("gnu") || parts.includes("gnueabihf")) entry.libc = ["glibc"]
    if (meta.dev) entry.dev = true
    packages[key] = entry
    added++
  }
}
lock.packages = Object.fromEntries(Object.entries(packages).sort(([a], [b]) => (a === "" ? -1 : b === "" ? 1 : a < b ? -1 : a > b ? 1 : 0)))
writeFileSync(file, JSON.stringify(lock, null, 2) + "\n")
console.log(`added ${added} entries`)
