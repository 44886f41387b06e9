import './css/app.css'
import { ReactElement } from 'react'
import { client } from './client'
import Layout from '~/layouts/default'
import { Data } from '@generated/data'
import { createRoot } from 'react-dom/client'
import { RowndProvider } from '@rownd/react'
import { keepOneHubLoader } from '~/rownd'
import { createInertiaApp } from '@inertiajs/react'
import { TuyauProvider } from '@adonisjs/inertia/react'
import { resolvePageComponent } from '@adonisjs/inertia/helpers'

const appName = import.meta.env.VITE_APP_NAME || 'AdonisJS'

createInertiaApp({
  title: (title) => (title ? `${title} - ${appName}` : appName),
  // Pages are lazy chunks, each wrapped in the default layout
  resolve: (name) => {
    return resolvePageComponent(
      `./pages/${name}.tsx`,
      import.meta.glob('./pages/**/*.tsx'),
      (page: ReactElement<Data.SharedProps>) => <Layout children={page} />
    )
  },
  setup({ el, App, props }) {
    // The Hub's settings come from the first page (the `rownd` shared prop):
    // one RowndProvider for the life of the tab, above every page
    const { rownd } = props.initialPage.props as unknown as Data.SharedProps
    keepOneHubLoader()
    createRoot(el).render(
      <TuyauProvider client={client}>
        <RowndProvider {...rownd.provider}>
          <App {...props} />
        </RowndProvider>
      </TuyauProvider>
    )
  },
  progress: {
    color: '#4B5563',
  },
})
