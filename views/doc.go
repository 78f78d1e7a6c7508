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
package views
