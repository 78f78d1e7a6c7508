// Package views holds scribe's templ components and the view models they
// take.
//
// Pages follow one convention: each is an exported component named …Page
// that takes one view model named …Model (HomePage(HomeModel),
// JobPage(JobModel)) and wraps its content in layout. A model is plain data
// the handler fills; the component is the only thing that draws it. Giving
// the two different names lets both live in this package without a model
// posing as a component through a Render method, and every handler reads
// the same way: h.render(w, r, status, views.HomePage(m)). It is the shape
// templ's own docs give view models: a component function taking one.
//
// The parts of a page that change while it is open are exported components
// too (JobRow, JobPanel, JobBody), which the pages embed and the handlers
// also render alone for the pages' event streams. The server thus draws
// every piece of markup, live ones included, and static/app.js only swaps
// them in. They are components of their own rather than templ.Fragment
// sections of a page, which would render the whole page to send one row.
// Data that pages offer but do not decide, such as the download formats,
// comes in the models.
package views
