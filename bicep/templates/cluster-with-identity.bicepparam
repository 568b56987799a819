using './cluster-with-identity.bicep'

param clusterName = 'chsm-params'
param tags = {
  Dept: 'hsm'
  Source: 'bicepparam'
}
