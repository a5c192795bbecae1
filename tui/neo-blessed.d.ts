// neo-blessed ships no types; it is a maintained fork of blessed with the same API, so blessed's types apply.
declare module 'neo-blessed' {
  import blessed = require('blessed');
  export = blessed;
}
